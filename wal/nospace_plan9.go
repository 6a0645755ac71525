package wal

// isNoSpace reports whether err says that the disk is full; Plan 9 has no
// error number to tell.
func isNoSpace(error) bool { return false }
