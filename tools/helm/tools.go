//go:build tools

// Package tools records the binaries built from this module.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
