//go:build tools

// Package tools records the binaries built from this module.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
