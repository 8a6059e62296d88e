package main

import "syscall"

// stRdOnly is ST_RDONLY from statvfs(3): the filesystem is mounted read-only.
const stRdOnly = 0x1

func statFS(path string) fsState {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return fsState{}
	}
	return fsState{known: true, readOnly: st.Flags&stRdOnly != 0, avail: st.Bavail * uint64(st.Bsize)}
}
