//go:build !unix

package filestore

import "io/fs"

func diskUsage(fi fs.FileInfo) int64 { return fi.Size() }
