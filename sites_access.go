package replay

import (
	"context"
	"strings"
)

// Site returns the validated configuration of the site with this id, or an
// error wrapping [ErrUnknownSite] (or describing what is wrong with the
// site's configuration). A disabled site is returned, not refused: callers
// that need to know test [Site.Disabled]. The HTTP layer uses it to check a
// request's origin before it hands the batch to [Recorder.Ingest].
func (r *Recorder) Site(ctx context.Context, id string) (*Site, error) {
	s, _, err := r.site(ctx, id)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// AllowsOrigin reports whether origin (the value of a request's Origin
// header, such as "https://shop.example") is one of the site's Origins. The
// comparison ignores ASCII case and a trailing slash in the configuration;
// there are no wildcards, and the opaque origin "null" matches only when it
// is listed.
func (s *Site) AllowsOrigin(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range s.Origins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}
