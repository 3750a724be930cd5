// TypeScript declarations of the globals a devicejs device script sees: the `mqtt` object
// (docs/api.md) and the runtime's print and timers (docs/runtime.md). Device scripts are ES5;
// use these with "allowJs" and "checkJs" (see tsconfig.json) so that an editor completes and
// checks them. Nothing here exists at run time: it only describes what devicejs provides.

declare namespace devicejs {
    /** An MqttError: a plain object, not an Error. `code` 0 is success. */
    interface MqttError {
        /** 0 OK, 1 connection failed, 10 illegal argument, 11 disconnected, 12 publish failed,
         *  13 subscribe failed, 14 unsubscribe failed, 255 other error. */
        code: number;
        /** The spec's text for the code. */
        message: string;
    }

    /** Options of mqtt.connect(). Every field is optional; out-of-range values make connect()
     *  return undefined. Durations are in the units the spec gives. */
    interface ConnectOptions {
        /** Seconds, 0 to 2147483647 (0 = off). Default 60. */
        keepalive?: number;
        /** 1 to 127 bytes of [A-Za-z0-9_-]. Default "mqttjs_" + 8 random digits. */
        clientId?: string;
        /** "MQTT" with protocolVersion 4 (default), "MQIsdp" with 3. */
        protocolId?: string;
        /** 4 (MQTT 3.1.1, default) or 3 (MQTT 3.1). */
        protocolVersion?: number;
        /** Milliseconds between reconnection attempts, 0 to 10000. Default 1000. */
        reconnectPeriod?: number;
        /** Milliseconds to wait for CONNACK, 0 to 2147483647 (0 = none). Default 30000. */
        connectTimeout?: number;
        /** 1 to 511 printable ASCII bytes. */
        username?: string;
        /** 1 to 511 printable ASCII bytes. */
        password?: string;
        /** Automatic reconnection attempts, 0 to 999, or 1855 for "forever". */
        reconnectCount?: number;
        /** Bytes, 128 to 65536; topic + message + 9 must fit. Default 2560. */
        sendBuffSize?: number;
        /** Bytes, 128 to 65536; larger messages are discarded. Default 512. */
        recvBuffSize?: number;
    }

    type QoS = 0 | 1 | 2;

    /** Options of client.publish(). */
    interface PublishOptions {
        qos?: QoS;
        retain?: boolean;
        dup?: boolean;
    }

    /** Options of client.subscribe(). */
    interface SubscribeOptions {
        qos?: QoS;
        /** Deliver this subscription's messages as ArrayBuffer instead of string. */
        bin?: boolean;
    }

    /** The argument of the 'connect' event. */
    interface Connack {
        sessionPresent: boolean;
        returnCode: 0;
    }

    /** A message to publish: a string (sent as UTF-8), an ArrayBuffer or a view of one. */
    type Message = string | ArrayBuffer | ArrayBufferView;

    /** Completion callback of publish, subscribe and unsubscribe. */
    type Done = (err: MqttError) => void;

    /** A client returned by mqtt.connect(): one MQTT session. */
    interface Client {
        /** Registers the handler of an event; a second handler for the same event replaces the first. */
        on(event: "connect", callback: (connack: Connack) => void): void;
        on(event: "reconnect" | "close" | "end", callback: () => void): void;
        on(event: "error", callback: (err: MqttError) => void): void;
        on(event: "message", callback: (topic: string, message: string | ArrayBuffer) => void): void;

        /** Publishes a message. Returns undefined when accepted, an MqttError (10, 11, 12) when refused. */
        publish(topic: string, message: Message, options?: PublishOptions | null, callback?: Done | null): MqttError | undefined;
        publish(topic: string, message: Message, callback: Done): MqttError | undefined;

        /** Subscribes to a topic filter. Returns undefined when accepted, an MqttError (10, 11, 13) when refused. */
        subscribe(topic: string, options?: SubscribeOptions | null, callback?: Done | null): MqttError | undefined;
        subscribe(topic: string, callback: Done): MqttError | undefined;

        /** Unsubscribes from a topic filter. Returns undefined when accepted, an MqttError (10, 11) when refused. */
        unsubscribe(topic: string, callback?: Done | null): MqttError | undefined;

        /** Ends the client; callback runs once the session resource is released. */
        end(callback?: (() => void) | null): void;

        /** Asks for a reconnection after reconnectPeriod. */
        reconnect(): void;

        isConnected(): boolean;
        isReconnecting(): boolean;
        /** Connected and no publish in flight. */
        canPublish(): boolean;

        /** get('errnoConnect'): the connection error number, 0 to 7. */
        get(name: "errnoConnect"): number;
        get(name: string): number | undefined;
    }

    /** The global `mqtt` object. */
    interface Mqtt {
        /** Creates a client and starts connecting; undefined for a bad argument or while the
         *  device's one session resource is in use. */
        connect(url: string, options?: ConnectOptions | null): Client | undefined;
        /** Sets (or, without arg, clears) a TLS setting, read at the next connect(). */
        set(name: "ssl.ca" | "ssl.cert" | "ssl.key", arg?: string | null): void;
    }

    /** What setTimeout(ms) returns. */
    interface Waiter {
        /** Blocks the script until ms of device time after the setTimeout(ms) call. */
        wait(): void;
    }
}

/** The device's MQTT API. */
declare var mqtt: devicejs.Mqtt;

/** Writes the String() of each argument, joined by one space, and a newline. */
declare function print(...args: any[]): void;

/** setTimeout(ms) with only a number: an object whose wait() blocks for ms of device time. */
declare function setTimeout(ms: number): devicejs.Waiter;
/** Calls callback once after ms of device time; returns the timer id. */
declare function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
/** Calls callback every ms of device time (at least 1 ms); returns the timer id. */
declare function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function clearTimeout(id?: number): void;
declare function clearInterval(id?: number): void;
