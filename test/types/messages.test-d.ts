// Type tests for the message types (issue 16): checked by `tsc -p tsconfig.test.json`, the first
// gate of the test command (this file is under test/, which that config includes; vitest's
// `include` takes only *.test.ts, so nothing here runs). `expectTypeOf` fails the compile when a
// type differs (`any` included), and every `@ts-expect-error` fails it when the line compiles.
// Nothing is executed: the functions below are only declared.
import { expectTypeOf } from 'vitest';
import { ref } from 'vue';
import { connect } from 'heartline';
import type { Connection, Data, Events, JsonValue, Options } from 'heartline';
import * as react from 'heartline/react';
import * as vue from 'heartline/vue';

interface ChatMsg {
  txt: string;
  from: string;
}
interface Say {
  txt: string;
}
const URL = 'wss://example.com/chat';
const msg: ChatMsg = { txt: 'hi', from: 'me' };

export function untypedStaysAsBefore(): void {
  const c = connect(URL);
  expectTypeOf(c).toEqualTypeOf<Connection<any, unknown>>();
  expectTypeOf(connect(URL, { json: true })).toEqualTypeOf<Connection<any, unknown>>();
  expectTypeOf(c).toEqualTypeOf<Connection>();
  c.on('message', (data) => expectTypeOf(data).toBeAny());
  // Anything goes through send(), as before: the run time checks it.
  c.send(() => 1);
  c.send(Symbol());
  c.send({ a: 1 });
}

export function receivedTypeInJsonMode(): void {
  const c = connect<ChatMsg>(URL, { json: true });
  expectTypeOf(c).toEqualTypeOf<Connection<ChatMsg, JsonValue>>();
  c.on('message', (m, meta) => {
    expectTypeOf(m).toEqualTypeOf<ChatMsg>();
    expectTypeOf(meta.id).toBeString();
    // @ts-expect-error a typed message has no `nope`
    void m.txt.nope;
    // @ts-expect-error nor a `text`
    void m.text;
  });
  expectTypeOf<Events<ChatMsg>['message']>().parameter(0).toEqualTypeOf<ChatMsg>();
  // send() takes JSON values (interfaces and arrays of them, null, numbers) and binary Data…
  c.send(msg);
  c.send([msg, { txt: 'x' }]);
  c.send(null);
  c.send(3);
  c.send(new Uint8Array(2));
  void c.sendWithAck({ any: 'object' });
  // …and no function, symbol, bigint or undefined.
  // @ts-expect-error a function
  c.send(() => 1);
  // @ts-expect-error a symbol
  c.send(Symbol('s'));
  // @ts-expect-error a bigint
  c.send(1n);
  // @ts-expect-error undefined
  void c.sendWithAck(undefined);
  // A `json` not known to be false (an Options variable) is JSON mode too.
  const options: Options = { json: true };
  expectTypeOf(connect<ChatMsg>(URL, options)).toEqualTypeOf<Connection<ChatMsg, JsonValue>>();
}

export function textMode(): void {
  const c = connect<string>(URL);
  expectTypeOf(c).toEqualTypeOf<Connection<string, Data>>();
  expectTypeOf(connect<string>(URL, { json: false, lazy: true })).toEqualTypeOf<Connection<string, Data>>();
  c.on('message', (m) => expectTypeOf(m).toBeString());
  c.send('text');
  c.send(new ArrayBuffer(1));
  // @ts-expect-error text mode sends no objects
  c.send({ txt: 'x' });
  // @ts-expect-error nor numbers
  c.send(1);
}

export function bothDirections(): void {
  const c = connect<ChatMsg, Say>(URL, { json: true });
  expectTypeOf(c.send).parameter(0).toEqualTypeOf<Say>();
  expectTypeOf(c.sendWithAck).parameter(0).toEqualTypeOf<Say>();
  c.send({ txt: 'hi' });
  // @ts-expect-error an excess property
  c.send({ txt: 'hi', extra: 1 });
  // @ts-expect-error a string is not a Say
  c.send('hi');
  // A typed connection still fits where an untyped one is expected (helpers, observe()).
  const plain: Connection = c;
  void plain;
  // @ts-expect-error options keep their own checks
  connect<ChatMsg>(URL, { json: 1 });
}

export function ReactChat(): null {
  // useConnection<ChatMsg>() compiles and types everything it returns.
  const chat = react.useConnection<ChatMsg>(URL, { json: true });
  expectTypeOf(chat.connection).toEqualTypeOf<Connection<ChatMsg, JsonValue> | undefined>();
  expectTypeOf(chat.send).parameter(0).toEqualTypeOf<JsonValue>();
  chat.send(msg);
  // @ts-expect-error a function
  chat.send(() => 1);
  react.useMessage(chat.connection, (m) => {
    expectTypeOf(m).toEqualTypeOf<ChatMsg>();
    // @ts-expect-error
    void m.txt.nope;
  });
  const typed = react.useConnection<ChatMsg, Say>(URL, { json: true });
  expectTypeOf(typed.send).parameter(0).toEqualTypeOf<Say>();
  const text = react.useConnection<string>(URL);
  // @ts-expect-error text mode
  text.send({ txt: 'x' });
  const untyped = react.useConnection(URL, { json: true });
  expectTypeOf(untyped.connection).toEqualTypeOf<Connection<any, unknown> | undefined>();
  untyped.send({ anything: 1 });
  react.useMessage(untyped.connection, (m: ChatMsg) => void m.txt); // an annotated handler, as before
  return null;
}

export function vueChat(): void {
  const chat = vue.useConnection<ChatMsg>(URL, { json: true });
  expectTypeOf(chat.connection.value).toEqualTypeOf<Connection<ChatMsg, JsonValue> | undefined>();
  chat.send(msg);
  // @ts-expect-error a symbol
  chat.send(Symbol());
  vue.useMessage(chat.connection, (m) => {
    expectTypeOf(m).toEqualTypeOf<ChatMsg>();
    // @ts-expect-error
    void m.txt.nope;
  });
  vue.useMessage(() => chat.connection.value, (m) => expectTypeOf(m).toEqualTypeOf<ChatMsg>());
  const typed = vue.useConnection<ChatMsg, Say>(
    () => URL,
    ref({ json: true }),
  );
  expectTypeOf(typed.send).parameter(0).toEqualTypeOf<Say>();
  const text = vue.useConnection<string>(URL);
  // @ts-expect-error text mode
  text.send({ txt: 'x' });
  const untyped = vue.useConnection(URL);
  untyped.send({ anything: 1 });
}
