// TypeScript declarations of the globals a devicejs test file (*.test.js, run by
// `devicejs test`) sees, on top of the runtime globals of devicejs.d.ts (print, timers).
// docs/testing.md is the reference; nothing here exists at run time.

declare namespace devicejsTest {
    /** A line pattern: a string matches a whole line exactly, a RegExp matches anywhere. */
    type Pattern = string | RegExp;

    /** An expected count: a number is exact; {min, max}; omitted means at least 1. */
    type Count = number | { min?: number; max?: number; count?: number };

    /** Link conditions: a spec ("3g", "lte", "latency=200ms,loss=1%") or fields. */
    type LinkSpec = string | {
        /** One-way delay, ms. */
        latency?: number;
        /** Up to this much more or less per segment, ms. */
        jitter?: number;
        /** Probability 0 <= loss < 1 that a segment is lost once (retransmitted after the RTO). */
        loss?: number;
        /** Bytes per second each way; 0 = unlimited. */
        bandwidth?: number;
    };

    /** Options of device.start(). */
    interface StartOptions {
        /** Replaces the script's clientId. */
        clientId?: string;
        /** PEM strings replacing the script's ssl.ca / ssl.cert / ssl.key. */
        ssl?: { ca?: string; cert?: string; key?: string };
        /** Sets the world's link conditions as the device starts. */
        link?: LinkSpec;
        /** Stops the device after this much device time, ms. */
        forMs?: number;
        /** "host" lifts the device's limits (sessions, subscriptions, buffers). */
        limits?: "host";
        /** Plain JSON values the script sees as globals before it runs (a copy). A function,
         *  undefined, NaN, Infinity, a cycle, a non-plain object or a name such as `mqtt` is a
         *  TypeError naming the key. A real device has no such mechanism: docs/testing.md. */
        globals?: { [name: string]: JSONValue };
    }

    /** A plain JSON value. */
    type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

    /** What a toHavePublished predicate receives: a Message with its payload parsed. */
    interface PublishedMessage extends Message {
        /** The payload parsed as JSON; undefined when it is not JSON. */
        json: any;
    }

    /** A predicate on a publish: must return true or false (anything else fails the test). */
    type PublishPredicate = (msg: PublishedMessage) => boolean;

    /** A publish to match: topic an MQTT filter (+, #) or a RegExp; payload exact or a RegExp;
     *  json a partial deep match of the payload parsed as JSON (extra keys ignored at every
     *  depth, arrays the same length; a payload that is not JSON never matches); fromMs/toMs a
     *  window of device time. */
    interface PublishMatch {
        topic?: string | RegExp;
        payload?: Pattern;
        json?: any;
        qos?: number;
        retain?: boolean;
        fromMs?: number;
        toMs?: number;
    }

    /** A message the broker received from a device, or a peer subscription received. */
    interface Message {
        topic: string;
        payload: string;
        qos: number;
        retain: boolean;
        /** Device time since the test started, ms. */
        atMs: number;
        /** The publishing client (embedded broker only; "" on --broker). */
        clientId?: string;
    }

    /** One traced MQTT action of a device (see `devicejs run --trace-json`). */
    interface TraceEntry {
        atMs: number;
        /** connect_attempt, connack, connect_failed, subscribe, suback, unsubscribe, unsuback,
         *  publish, publish_done, message, discarded, close, reconnect_wait, reconnect, error, end, ... */
        kind: string;
        topic: string;
        qos: number;
        code: number;
        returnCode: number;
        errno: number;
        /** The error text, as the --trace-json field "error". */
        error: string;
        /** @deprecated the same as error (the --trace-json field is "error"). */
        err: string;
        waitMs: number;
        clientId: string;
    }

    /** A device script started by device.start(). */
    interface Device {
        /** The script path as given to device.start(). */
        name: string;
        /** Every complete line it printed. */
        lines(): string[];
        /** What the broker received from it, in order. */
        published(): Message[];
        /** Its traced MQTT actions, in order. */
        trace(): TraceEntry[];
        /** How many trace entries of this kind, e.g. count('suback'). */
        count(kind: string): number;
        /** Whether the script has ended. */
        done(): boolean;
        /** "finished", "for elapsed", "canceled" or "script failed" once done; else undefined. */
        ending(): string | undefined;
        /** The script's error (uncaught exception) once done; else undefined. */
        error(): string | undefined;
        /** The client id of its last session. */
        clientId(): string;
        /** Ends it now (its sessions end with DISCONNECT). */
        stop(): void;
    }

    /** A peer subscription made by world.subscribe(). */
    interface Subscription {
        filter: string;
        messages(): Message[];
    }

    /** Matchers on a device (expect(device)). A failure throws an AssertionError that shows the
     *  expectation, what happened and the device's last trace and printed lines. */
    interface DeviceMatchers {
        toHavePrinted(line: Pattern, count?: Count): void;
        toHavePrintedInOrder(lines: Pattern[]): void;
        /** Publishes matching (PublishMatch), counted: at least one unless count/min/max. */
        toHavePublished(match?: PublishMatch & { count?: number; min?: number; max?: number }): void;
        /** Publishes for which the predicate returns true, counted (default: at least one). */
        toHavePublished(predicate: PublishPredicate, count?: Count): void;
        toHavePublishedInOrder(matches: Array<PublishMatch | PublishPredicate>): void;
        toHaveConnected(count?: Count): void;
        toHaveReconnected(count?: Count): void;
        toHaveClosed(count?: Count): void;
        toHaveEnded(count?: Count): void;
        /** 'error' events (code 1: connection failed with no retry left). */
        toHaveErrored(match?: { code?: number; count?: number; min?: number; max?: number }): void;
        /** Failed connection attempts, by errnoConnect and CONNACK return code. */
        toHaveFailedToConnect(match?: { errno?: number; returnCode?: number; count?: number; min?: number; max?: number }): void;
        /** The script ended by itself without an error. */
        toHaveFinished(): void;
    }

    /** Matchers on any value. */
    interface ValueMatchers {
        toBe(v: any): void;
        /** Structural equality: SameValueZero numbers (NaN equals NaN), functions, symbols and
         *  Proxies by identity, undefined properties as missing (docs/testing.md, "Equality"). */
        toEqual(v: any): void;
        toBeTruthy(): void;
        toBeFalsy(): void;
        toMatch(p: Pattern): void;
        toContain(v: any): void;
        toBeGreaterThan(n: number): void;
        toBeGreaterThanOrEqual(n: number): void;
        toBeLessThan(n: number): void;
        toBeLessThanOrEqual(n: number): void;
    }

    interface Matchers extends ValueMatchers, DeviceMatchers {
        /** The same matchers, inverted. */
        not: ValueMatchers & DeviceMatchers;
    }
}

/** Registers a test; it runs after the file's top level, in a fresh world. A returned promise
 *  (an async function) is awaited; its rejection fails the test. */
declare function test(name: string, fn: () => void | PromiseLike<unknown>): void;
declare namespace test {
    /** Registers a test reported as skipped. */
    function skip(name: string, fn: () => void | PromiseLike<unknown>, reason?: string): void;
}

/** Asserts on a value, or (given a Device) on what the device did. */
declare function expect(v: devicejsTest.Device): devicejsTest.Matchers;
declare function expect(v: any): devicejsTest.Matchers;

/** Loads a helper module (CommonJS: module.exports, exports): a path starting with ./ or ../,
 *  relative to the requiring file, inside the test root (`devicejs test --root`, default the
 *  current directory). Each module runs once per test file. Device scripts have no require. */
declare function require(path: string): any;

declare var device: {
    /** Starts a device script (path relative to the test file) in process, on the world's
     *  virtual clock, broker and link. */
    start(path: string, options?: devicejsTest.StartOptions): devicejsTest.Device;
};

declare var world: {
    /** Runs the world for ms of device time (virtual: idle periods are skipped). */
    after(ms: number): void;
    /** Runs the world until predicate returns true; throws an AssertionError after timeoutMs
     *  of device time. Returns the device time it took, ms. */
    until(predicate: () => boolean, timeoutMs: number): number;
    /** Device time since the test started, ms. */
    now(): number;
    /** Publishes as a peer; throws over MQTT's maximum packet size (268,435,455 bytes). */
    publish(topic: string, payload: string, options?: { qos?: 0 | 1 | 2; retain?: boolean }): void;
    /** Subscribes as a peer. */
    subscribe(filter: string): devicejsTest.Subscription;
    /** A fresh CA and a client certificate it signed (PEM), e.g. for a wrong-CA test. */
    newCA(): { ca: string; cert: string; key: string };
};

declare var broker: {
    /** Stops the broker: clients are disconnected, new connections refused (errno 6). */
    stop(): void;
    /** Starts a stopped broker again (sessions and retained messages are gone). */
    start(): void;
    /** stop() then start(). */
    restart(): void;
    /** Answers every CONNECT with this CONNACK return code until refuse(0). Embedded only.
     *  Any other value throws a TypeError. */
    refuse(returnCode: 0 | 1 | 2 | 3 | 4 | 5): void;
    /** Admits only these users ({name: password}); null admits everyone. Embedded only. */
    users(users: { [name: string]: string } | null): void;
    /** Refuses publishes ('publish') or subscriptions ('subscribe') matching filter. Embedded only. */
    deny(filter: string, what: "publish" | "subscribe"): void;
    /** Whether the test runs on the embedded broker (false with --broker). */
    isEmbedded(): boolean;
};

declare var link: {
    /** Sets the conditions of the link between the devices and the broker. */
    set(spec: devicejsTest.LinkSpec): void;
    /** Nothing passes for ms of device time; the bytes are held and delivered afterwards. */
    outage(ms: number): void;
    /** Half-open link: nothing passes either way and nothing closes, until blackhole(false). */
    blackhole(on: boolean): void;
    /** Resets every live connection at both ends. */
    cut(): void;
    /** What the link carried and the delays it applied, per direction. */
    stats(): {
        conns: number;
        up: { bytes: number; segments: number; lostSegments: number; losses: number; delayMs: number; maxDelayMs: number };
        down: { bytes: number; segments: number; lostSegments: number; losses: number; delayMs: number; maxDelayMs: number };
    };
};
