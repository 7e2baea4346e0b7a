// Package container is Factflow's composition root: it builds every
// long-lived service from configuration (provisioning PostgreSQL, the
// broker and storage where nothing explicit is given), owns their
// lifecycle, and shuts them down in layers within a budget.
package container
