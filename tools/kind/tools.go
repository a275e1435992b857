//go:build tools

// Package tools records the binaries built from this module.
package tools

import (
	_ "sigs.k8s.io/kind"
)
