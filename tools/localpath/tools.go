//go:build tools

// Package tools records the binaries built from this module.
package tools

import (
	_ "github.com/rancher/local-path-provisioner"
)
