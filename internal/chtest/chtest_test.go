package chtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// insert writes one row through a native batch: 18.16 does not answer an
// INSERT ... VALUES sent with Exec over the native protocol.
func insert(ctx context.Context, t *testing.T, conn clickhouse.Conn, x uint8) {
	t.Helper()
	b, err := conn.PrepareBatch(ctx, "INSERT INTO t (x)")
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if err := b.Append(x); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := b.Send(); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func TestNewDatabaseIsUsable(t *testing.T) {
	db := server.NewDatabase(t)
	conn, err := server.Open(db)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE TABLE t (x UInt8) ENGINE = Memory"); err != nil {
		t.Fatalf("create: %v", err)
	}
	insert(ctx, t, conn, 7)
	var got uint8
	if err := conn.QueryRow(ctx, "SELECT x FROM t").Scan(&got); err != nil {
		t.Fatalf("select: %v", err)
	}
	if got != 7 {
		t.Fatalf("got %d, want 7", got)
	}
	var db2 string
	if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&db2); err != nil {
		t.Fatalf("select: %v", err)
	}
	if db2 != db {
		t.Fatalf("current database %q, want %q", db2, db)
	}
}

func TestRestartKeepsData(t *testing.T) {
	db := server.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := server.Open(db)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := conn.Exec(ctx, "CREATE TABLE t (x UInt8) ENGINE = MergeTree() ORDER BY x"); err != nil {
		t.Fatalf("create: %v", err)
	}
	insert(ctx, t, conn, 3)
	conn.Close()
	if err := server.Restart(true); err != nil {
		t.Fatalf("restart: %v", err)
	}
	conn, err = server.Open(db)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM t").Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 1 {
		t.Fatalf("count after restart = %d, want 1", n)
	}
}
