package replay

import "github.com/sessionreplay/replay/storage"

// Store returns the store the Recorder was made with, so that the layers
// above it (package transport) can use the store's optional interfaces,
// such as [storage.ViewLog] and [storage.Counter]. Writing to it directly
// bypasses the Recorder's masking and bookkeeping: read from it only.
func (r *Recorder) Store() storage.Store { return r.store }
