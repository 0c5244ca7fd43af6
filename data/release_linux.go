package data

import "syscall"

// releasePages drops a mapping's pages from this process's resident set. The file's data
// stays in the page cache and a later read faults it back in, so this never changes what
// the mapping reads: it only keeps a set larger than memory from showing as resident.
func releasePages(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }
