// The PL011 model against what the RP2040 data sheet (§4.2) says the UART does:
// `node --test` in this directory (CI runs it before the emulated Pico's scenario).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAMING, OVERRUN, PL011 } from './pl011.mjs';

// Registers and bits, as the data sheet numbers them.
const DR = 0x00;
const FR = 0x18;
const IBRD = 0x24;
const FBRD = 0x28;
const IFLS = 0x34;
const IMSC = 0x38;
const RIS = 0x3c;
const ICR = 0x44;
const RXFE = 1 << 4;
const TXFF = 1 << 5;
const RXI = 1 << 4;
const TXI = 1 << 5;
const RTI = 1 << 6;
const FEI = 1 << 7;
const OEI = 1 << 10;
const ATOMIC_SET = 2;
const ATOMIC_CLEAR = 3;

/** rp2040js's clock as the model uses it: `nanos`, and alarms that fire as time passes. */
class Clock {
  nanos = 0;
  alarms = new Set();
  createAlarm(callback) {
    const clock = this;
    const alarm = {
      at: null,
      schedule(delta) {
        alarm.at = clock.nanos + delta;
        clock.alarms.add(alarm);
      },
      cancel() {
        clock.alarms.delete(alarm);
      },
      callback,
    };
    return alarm;
  }
  advance(nanos) {
    const end = this.nanos + nanos;
    for (;;) {
      const due = [...this.alarms].filter((a) => a.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.alarms.delete(due);
      this.nanos = due.at;
      due.callback();
    }
    this.nanos = end;
  }
}

// embassy-rp's settings: 115,200 baud from a 125 MHz clk_peri, RX level 7/8, TX level 1/8.
const CLK_PERI = 125_000_000;
const CHAR = (10 * 1e9 * 16 * (67 + 52 / 64)) / CLK_PERI; // 86.8 µs

/** A UART set up as embassy-rp sets it, with what it sent and its interrupt line. */
function uart() {
  const clock = new Clock();
  const sent = [];
  const irq = { level: false, raised: 0 };
  const u = new PL011(
    clock,
    CLK_PERI,
    (level) => {
      if (level && !irq.level) irq.raised += 1;
      irq.level = level;
    },
    (byte) => sent.push({ byte, at: clock.nanos }),
  );
  u.writeUint32(IBRD, 67);
  u.writeUint32(FBRD, 52);
  u.writeUint32(IFLS, (0b100 << 3) | 0b000);
  u.writeUint32(IMSC, RXI | TXI | RTI | FEI | OEI);
  return { u, clock, sent, irq };
}

/** One case: what a driver does and what the data sheet says follows. */
function check(name, body) {
  test(name, () => body(uart()));
}

check('characters leave at the baud rate, one each 10 bit times, in order', ({ u, clock, sent }) => {
  for (const byte of [0x41, 0x54, 0x0d]) u.writeUint32(DR, byte);
  clock.advance(3 * CHAR + 1);
  assert.deepEqual(
    sent.map((s) => s.byte),
    [0x41, 0x54, 0x0d],
  );
  sent.forEach((s, i) => assert.ok(Math.abs(s.at - (i + 1) * CHAR) < 1, `char ${i} at ${s.at}`));
});

check('the TX FIFO holds 32: full is flagged, the 33rd write is lost', ({ u, clock, sent }) => {
  for (let i = 0; i < 33; i++) u.writeUint32(DR, i);
  assert.ok(u.readUint32(FR) & TXFF);
  clock.advance(40 * CHAR);
  assert.equal(sent.length, 32);
});

check('the TX interrupt fires once, as the FIFO drains through its level', ({ u, clock, irq }) => {
  for (let i = 0; i < 32; i++) u.writeUint32(DR, i);
  assert.equal(u.readUint32(RIS) & TXI, 0, 'above the level: no interrupt');
  clock.advance(27 * CHAR + 1);
  assert.equal(u.readUint32(RIS) & TXI, 0, '5 left: not yet');
  clock.advance(CHAR);
  assert.ok(u.readUint32(RIS) & TXI, '4 left: the level');
  u.writeUint32(ICR, TXI);
  clock.advance(10 * CHAR);
  assert.equal(u.readUint32(RIS) & TXI, 0, 'cleared, and not raised again while it empties');
  assert.equal(irq.raised, 1);
});

check('a few characters wait for the receive timeout: 32 bit times', ({ u, clock }) => {
  u.receive(0x4f);
  u.receive(0x4b);
  assert.equal(u.readUint32(RIS) & (RXI | RTI), 0, 'below the level, before the timeout');
  clock.advance(3.2 * CHAR - 1);
  assert.equal(u.readUint32(RIS) & RTI, 0);
  clock.advance(2);
  assert.ok(u.readUint32(RIS) & RTI);
  assert.equal(u.readUint32(DR), 0x4f);
  assert.equal(u.readUint32(DR), 0x4b);
  assert.equal(u.readUint32(RIS) & RTI, 0, 'empty: the timeout clears');
  assert.ok(u.readUint32(FR) & RXFE);
});

check('28 characters reach the RX level at once', ({ u }) => {
  for (let i = 0; i < 27; i++) u.receive(i);
  assert.equal(u.readUint32(RIS) & RXI, 0);
  u.receive(27);
  assert.ok(u.readUint32(RIS) & RXI);
  u.readUint32(DR);
  assert.equal(u.readUint32(RIS) & RXI, 0, 'below the level again');
});

check('a framing error rides on its character and raises its interrupt', ({ u }) => {
  u.receive(0x00, FRAMING);
  u.receive(0x41);
  assert.ok(u.readUint32(RIS) & FEI);
  assert.equal(u.readUint32(DR), 0x00 | FRAMING);
  assert.equal(u.readUint32(DR), 0x41);
  u.writeUint32(ICR, FEI);
  assert.equal(u.readUint32(RIS) & FEI, 0);
});

check('a 33rd character overruns: lost, and the next one in carries the bit', ({ u }) => {
  for (let i = 0; i < 33; i++) u.receive(i);
  assert.ok(u.readUint32(RIS) & OEI);
  assert.equal(u.readUint32(DR), 0);
  u.receive(0x7a);
  const entries = Array.from({ length: 32 }, () => u.readUint32(DR));
  assert.deepEqual(entries.slice(0, 31), Array.from({ length: 31 }, (_, i) => i + 1));
  assert.equal(entries[31], 0x7a | OVERRUN);
});

check('the atomic aliases set and clear mask bits without touching the others', ({ u, irq }) => {
  u.receive(0x00, FRAMING);
  assert.ok(irq.level);
  u.writeUint32Atomic(IMSC, FEI | RXI | RTI, ATOMIC_CLEAR);
  assert.equal(u.readUint32(IMSC), TXI | OEI);
  assert.equal(irq.level, false, 'masked: the line drops');
  u.writeUint32Atomic(IMSC, RXI | RTI, ATOMIC_SET);
  assert.equal(u.readUint32(IMSC), TXI | OEI | RXI | RTI);
});
