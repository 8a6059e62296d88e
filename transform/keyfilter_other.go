//go:build !unix

package transform

// allocKeyFilter allocates a key filter of words 64-bit words on the Go
// heap (keyfilter_unix.go maps it outside the heap).
func allocKeyFilter(words int) (keyFilter, func()) { return make(keyFilter, words), func() {} }
