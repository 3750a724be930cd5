# devicejs build and test targets. `make test` is what CI runs (see .ci/run).
GO ?= go
STATICCHECK_VERSION := v0.8.2
BIN := bin/devicejs

.PHONY: build test test-deps tidy-check vet staticcheck fmt fuzz soak fleet-scenario bench interop run-sample gen-docs report-screenshot clean

# build: a static binary (CGO_ENABLED=0): no dynamic loader or libc at start (about 4 ms of a
# device's 31 ms from exec to CONNACK and exit, docs/performance.md), and it runs on any Linux.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/devicejs

# test: installs missing test dependencies (scripts/test-deps.sh), then the default suite (race
# detector), vet and staticcheck. Two packages build and run at once (-p 2; GOTEST_P=1 make test
# runs them one at a time, as before 2026-12-05); within a package the tests that time or
# measure a process run before its parallel tests start (docs/testing.md, "Suite time").
# scripts/gotest.sh prints each package's time at the end, slowest first, and the wall time.
test: test-deps tidy-check
	GO=$(GO) bash scripts/gotest.sh
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

test-deps:
	bash scripts/test-deps.sh

# tidy-check: go.mod and go.sum are what `go mod tidy` makes of the imports (direct requirements
# not marked indirect); fails with the diff otherwise.
tidy-check:
	$(GO) mod tidy -diff

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# fuzz: each fuzz target for FUZZTIME (long runs stay out of the default suite).
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# bench: the performance comparison of issue 5 (devicejs vs MQTT.js vs raw paho on one mosquitto);
# fails when devicejs's footprint or startup grows more than 10 % over scripts/bench/baseline.json;
# long, not part of `make test`. Writes the table into docs/performance.md.
BENCH_ROUNDS ?= 5
bench:
	$(GO) run ./scripts/bench -rounds $(BENCH_ROUNDS)

# soak: sample 5 for 16 hours of device time at time scale 100 (about 10 minutes) with a broker
# restart every 30 device minutes; heap, goroutines and fds must stay flat (docs/reliability.md).
soak:
	DEVICEJS_SOAK=1 $(GO) test -count=1 -timeout 30m -run '^TestSoak$$' -v ./internal/reliability

# fleet-scenario: issue 21's load-test scenario at full size: 2,000 smart meters in four shard
# processes against mosquitto restarted mid-run, progress lines, --metrics scraped, thresholds
# (one held, one crossed), merge with a shard missing (docs/fleet.md). The default suite runs it
# with 160 devices; this is about a minute.
FLEET_SCENARIO_N ?= 2000
fleet-scenario:
	DEVICEJS_FLEET_SCENARIO_N=$(FLEET_SCENARIO_N) $(GO) test -count=1 -timeout 10m -run '^TestFleetScenario$$' -v ./cmd/devicejs/cli

# interop: devicejs against RabbitMQ 3.10 with its MQTT plugin (Debian's rabbitmq-server, started
# privately on free loopback ports): conformance, the six samples, QoS 2 and the broker facts
# of docs/conformance.md. About 4 minutes; not part of `make test` (needs rabbitmq-server).
interop:
	bash scripts/interop.sh

# run-sample: the quick start: sample 5 against the embedded broker, 60 s of device time in ~1 s.
run-sample: build
	./$(BIN) run --broker embedded --time-scale 60 --for 60s testdata/samples/sample5.js

# report-screenshot: the screenshot in docs/report.md, made by the report test (sample 5 across
# two mosquitto restarts, drawn in headless Chromium).
report-screenshot:
	DEVICEJS_REPORT_SCREENSHOT=$(CURDIR)/docs/img/report-sample5.png $(GO) test -count=1 -run '^TestReportSample5AcrossTwoRestarts$$' -v ./cmd/devicejs/cli

# gen-docs: the CLI reference in docs/cli, generated from the cobra commands (TestCLIDocsUpToDate
# fails when it is stale).
gen-docs:
	$(GO) run ./cmd/devicejs/gendocs docs/cli

clean:
	rm -rf bin
