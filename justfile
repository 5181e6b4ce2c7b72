# The runbook, one recipe per step (mirrors the seed's `npm run rep:<step>:v1` scripts).
# Arguments pass through: just rep-snapshot-export --watermark-start 2026-03-01T00:00:00Z --watermark-end 2026-03-02T00:00:00Z

bin := "cargo run --release --quiet -p rep-cli --bin"

# Step 1: READY / NOT_READY
rep-preflight *ARGS:
    {{bin}} rep-preflight -- {{ARGS}}

# Step 2: snapshot.csv + manifest.json for one watermark window
rep-snapshot-export *ARGS:
    {{bin}} rep-snapshot-export -- {{ARGS}}

# Step 3: dry-run by default, --apply to write
rep-import *ARGS:
    {{bin}} rep-import -- {{ARGS}}

# Step 4: ok / anomalia
rep-reconcile *ARGS:
    {{bin}} rep-reconcile -- {{ARGS}}

# Step 5: GO / NO-GO
rep-go-no-go *ARGS:
    {{bin}} rep-go-no-go -- {{ARGS}}

# Containment: undo one applied run exactly (--run-id … --reason …)
rep-rollback *ARGS:
    {{bin}} rep-rollback -- {{ARGS}}

# The whole runbook on local demo data (sandbox PostgreSQL + PostgREST-protocol source)
demo:
    cargo run --release --bin rep-demo

# Every test
test:
    cargo test --workspace

# Formatting and lints, as CI checks them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
