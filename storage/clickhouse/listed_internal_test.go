package clickhouse

import (
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage/storagetest"
)

// A batch lists only the operations, resources and attribute values not
// written before by the Store; after a purge, everything again.
func TestListedRowsWrittenOnce(t *testing.T) {
	g := storagetest.NewGenerator(3)
	spans := g.Trace(time.Now(), 20)
	l := new(listed)
	var c columns
	c.listed = l
	c.fill(spans, hashResources(spans), 1)
	if len(c.opName) == 0 || len(c.resHash) == 0 || len(c.avKey) == 0 {
		t.Fatalf("first batch lists %d operations, %d resources, %d attribute values; want some of each", len(c.opName), len(c.resHash), len(c.avKey))
	}
	ops, res, av := len(c.opName), len(c.resHash), len(c.avKey)
	// Written only partly (the resources, not the rest): the rest is
	// listed again.
	l.written(&c, false, true, false)
	c.fill(spans, hashResources(spans), 2)
	if len(c.opName) != ops || len(c.resHash) != 0 || len(c.avKey) != av {
		t.Errorf("after the resources were written: %d operations, %d resources, %d attribute values; want %d, 0, %d", len(c.opName), len(c.resHash), len(c.avKey), ops, av)
	}
	l.written(&c, true, true, true)
	c.fill(spans, hashResources(spans), 3)
	if len(c.opName) != 0 || len(c.resHash) != 0 || len(c.avKey) != 0 {
		t.Errorf("batch written again lists %d operations, %d resources, %d attribute values; want none", len(c.opName), len(c.resHash), len(c.avKey))
	}
	if c.rows != len(spans) || len(c.atKey) == 0 {
		t.Errorf("spans and search rows of a listed batch: %d rows, %d attribute rows; want %d and some", c.rows, len(c.atKey), len(spans))
	}
	l.forget()
	c.fill(spans, hashResources(spans), 4)
	if len(c.opName) != ops || len(c.resHash) != res || len(c.avKey) != av {
		t.Errorf("after forget: %d operations, %d resources, %d attribute values; want %d, %d, %d", len(c.opName), len(c.resHash), len(c.avKey), ops, res, av)
	}
}
