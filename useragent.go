package replay

import "github.com/mileusna/useragent"

// clientFacts are the device, OS and browser of a User-Agent string, as the
// device, os and browser facts and conditions use them.
type clientFacts struct {
	Device  string // desktop, mobile, tablet, bot or ""
	OS      string // "iOS", "Android", "Windows", "macOS", "Linux", "ChromeOS", ...
	Browser string // "Chrome", "Safari", "Firefox", "Edge", "Headless Chrome", ...
}

// parseUserAgent reads a User-Agent header with github.com/mileusna/useragent.
// Bots (crawlers and headless browsers) are "bot" whatever their form
// factor; a browser the parser cannot place has Device "".
func parseUserAgent(s string) clientFacts {
	if s == "" {
		return clientFacts{}
	}
	if len(s) > 1024 {
		s = s[:1024] // real User-Agents are far shorter; bound the parser's work
	}
	ua := useragent.Parse(s)
	f := clientFacts{OS: ua.OS, Browser: ua.Name}
	switch {
	case ua.Bot:
		f.Device = "bot"
	case ua.Tablet:
		f.Device = "tablet"
	case ua.Mobile:
		f.Device = "mobile"
	case ua.Desktop:
		f.Device = "desktop"
	}
	return f
}
