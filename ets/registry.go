package ets

import (
	"fmt"
	"slices"
	"sync"

	"github.com/enode-dev/enode/term"
)

// Registry holds a node's named tables (ets:new with named_table): one per
// node, created by the node, never global. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	tables map[term.Atom]*table
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{tables: map[term.Atom]*table{}} }

// New creates a table registered under name and returns its owner's handle.
// The name is free again once the table is deleted.
func (r *Registry) New(name term.Atom, opts Options) (*Owner, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty table name", ErrBadOptions)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tables[name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrNameTaken, name)
	}
	o := newTable(name, opts, r)
	r.tables[name] = o.t
	return o, nil
}

func (r *Registry) get(name term.Atom) (*table, error) {
	r.mu.RLock()
	t, ok := r.tables[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoTable, name)
	}
	return t, nil
}

// View returns a read-only handle on the named table: refused with
// ErrAccess for a private table.
func (r *Registry) View(name term.Atom) (*View, error) {
	t, err := r.get(name)
	if err != nil {
		return nil, err
	}
	if t.access == Private {
		return nil, t.errf(ErrAccess)
	}
	return &View{t: t}, nil
}

// Writer returns a writer on the named table: only a public table gives
// one (ErrAccess otherwise).
func (r *Registry) Writer(name term.Atom) (*Writer, error) {
	t, err := r.get(name)
	if err != nil {
		return nil, err
	}
	if t.access != Public {
		return nil, t.errf(ErrAccess)
	}
	return &Writer{View: View{t: t}}, nil
}

// Names returns the registered names in order (ets:all/0 for named tables).
func (r *Registry) Names() []term.Atom {
	r.mu.RLock()
	names := make([]term.Atom, 0, len(r.tables))
	for n := range r.tables {
		names = append(names, n)
	}
	r.mu.RUnlock()
	slices.Sort(names)
	return names
}

func (r *Registry) unregister(name term.Atom, t *table) {
	r.mu.Lock()
	if r.tables[name] == t {
		delete(r.tables, name)
	}
	r.mu.Unlock()
}
