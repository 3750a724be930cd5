//go:build !unix

package cli

// fdLimit returns 0: the limit is unknown here.
func fdLimit() uint64 { return 0 }
