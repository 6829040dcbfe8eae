package kb_test

import (
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/kb/kbtest"
)

func TestEmbeddedContract(t *testing.T) {
	dirs := map[kb.Index]string{}
	open := func(t *testing.T) kb.Index {
		dir := t.TempDir()
		x, err := kb.NewEmbedded(dir)
		if err != nil {
			t.Fatalf("NewEmbedded: %v", err)
		}
		dirs[x] = dir
		return x
	}
	reopen := func(t *testing.T, old kb.Index) kb.Index {
		x, err := kb.NewEmbedded(dirs[old])
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		dirs[x] = dirs[old]
		return x
	}
	kbtest.IndexContract(t, open, reopen)
}

func TestEmbeddedInMemoryContract(t *testing.T) {
	kbtest.IndexContract(t, func(t *testing.T) kb.Index {
		x, err := kb.NewEmbedded("")
		if err != nil {
			t.Fatal(err)
		}
		return x
	}, nil)
}
