// The Pico image, unchanged, on an emulated RP2040 (rp2040js) in real time, with its modem
// UART (UART0) connected to a TCP peer: `cargo xtask flash --board pico --emulator` starts it
// against the simulated modem, as QEMU's image is run. The UART is ours (`pl011.mjs`), so
// that embassy-rp's own driver runs on a faithful PL011 and the line can carry errors.
//
//   node pico.mjs IMAGE.elf --modem PORT [--framing-error-every N]
//
// --modem PORT                 the modem's line: 127.0.0.1:PORT, where the xtask listens
// --framing-error-every N      after every N characters from the modem, a character with a
//                              framing error (line noise on the idle line: a start bit and
//                              no stop bit), which the driver reports and drops
//
// stdout is the board's log as the xtask reads it, one line each, stamped with the device's
// time: the PWRKEY and RESET lines (`power key down`, `modem reset on` ...), each character
// with an error that the driver read from the data register (`uart0 framing error read`),
// and a watchdog reset, after which the emulator stops (the line closes).

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { GPIOPinState, Simulator } from 'rp2040js';
import { FRAMING, PL011 } from './pl011.mjs';

const FLASH = 0x10000000;
const UART0 = 0x40034000;
const UART0_IRQ = 20;
const WATCHDOG = 0x40058000;
// After the 256-byte second-stage bootloader: where cortex-m-rt's vector table starts.
const VECTORS = FLASH + 0x100;
const POWER_KEY = 2;
const MODEM_RESET = 3;
const NANOS_PER_CYCLE = 8; // 125 MHz, as embassy-rp sets the system clock

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    modem: { type: 'string' },
    'framing-error-every': { type: 'string' },
  },
});
const [image] = positionals;
if (!image || !values.modem) {
  console.error('usage: node pico.mjs IMAGE.elf --modem PORT [--framing-error-every N]');
  process.exit(2);
}
const errorEvery = Number(values['framing-error-every'] ?? 0);

const simulator = new Simulator();
const mcu = simulator.rp2040;
const clock = simulator.clock;
const quiet = () => {};
mcu.logger = { debug: quiet, info: quiet, warn: quiet, error: (name, msg) => log(`${name}: ${msg}`) };

/** A log line, stamped with the device's time as the QEMU board stamps its own. */
function log(text) {
  process.stdout.write(`${(clock.nanos / 1e9).toFixed(3)}s ${text}\n`);
}

// The second-stage bootloader sets the flash up for execute-in-place and jumps to the
// vector table; in the emulator the flash is plain memory, so start at the table.
loadElf(readFileSync(image));
const word = (address) => mcu.flashView.getUint32(address - FLASH, true);
mcu.core.VTOR = VECTORS;
mcu.core.SP = word(VECTORS);
mcu.core.PC = word(VECTORS + 4) & ~1;

const socket = connect({ host: '127.0.0.1', port: Number(values.modem), noDelay: true });
socket.on('error', (e) => {
  console.error(`the modem's line: ${e.message}`);
  process.exit(1);
});
socket.on('close', () => process.exit(0));

const uart = new PL011(
  clock,
  mcu.clkPeri,
  (level) => mcu.setInterrupt(UART0_IRQ, level),
  (byte) => socket.write(Uint8Array.of(byte)),
);
mcu.peripherals[UART0 >>> 12] = uart;
// What the driver reads from the data register, to show each error it was handed.
const readRegister = uart.readUint32.bind(uart);
uart.readUint32 = (offset) => {
  const value = readRegister(offset);
  if (offset === 0 && value & FRAMING) log('uart0 framing error read');
  return value;
};

// The modem's characters wait here for the wire: one each character time.
const incoming = [];
let received = 0;
let receiving = false;
const arrival = clock.createAlarm(() => {
  receiving = false;
  const [byte, errors] = incoming.shift();
  uart.receive(byte, errors);
  nextArrival();
});
function nextArrival() {
  if (!receiving && incoming.length > 0) {
    receiving = true;
    arrival.schedule(uart.charNanos);
  }
}
socket.on('data', (bytes) => {
  // Bring the device up to now first: the characters start arriving now, not when it last
  // woke (an idle device's clock stands still until it is run).
  run();
  for (const byte of bytes) {
    if (errorEvery > 0 && received > 0 && received % errorEvery === 0) {
      incoming.push([0x00, FRAMING]);
    }
    incoming.push([byte, 0]);
    received += 1;
  }
  nextArrival();
  run();
});

const pinLine = (pin, on, off) =>
  mcu.gpio[pin].addListener((state) => log(state === GPIOPinState.High ? on : off));
pinLine(POWER_KEY, 'power key down', 'power key up');
pinLine(MODEM_RESET, 'modem reset on', 'modem reset off');

mcu.peripherals[WATCHDOG >>> 12].onWatchdogTrigger = () => {
  log('panic: watchdog reset (the firmware stopped feeding it)');
  process.exit(1);
};

// Real time: the emulated clock follows the wall clock. The core runs until it catches up or
// sleeps (WFI/WFE), then time jumps to the next alarm or to now, whichever is first.
const started = process.hrtime.bigint();
let timer = null;
function run() {
  if (timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
  const now = Number(process.hrtime.bigint() - started);
  while (clock.nanos < now) {
    if (mcu.core.waiting) {
      const next = clock.nanosToNextAlarm;
      clock.tick(next > 0 ? Math.min(next, now - clock.nanos) : now - clock.nanos);
    } else {
      clock.tick(mcu.core.executeInstruction() * NANOS_PER_CYCLE);
    }
  }
  // Asleep: wake for the next alarm; busy: go on as soon as the event loop allows.
  const next = mcu.core.waiting ? clock.nanosToNextAlarm : 0;
  timer = setTimeout(run, Math.max(0, Math.floor(next / 1e6)));
}
run();

/** Copies the ELF's loadable segments that live in flash (code, read-only data, and the
 *  initial values of `.data`, which the reset handler copies to RAM). */
function loadElf(elf) {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  for (let i = 0; i < phnum; i++) {
    const header = phoff + i * phentsize;
    const PT_LOAD = 1;
    if (view.getUint32(header, true) !== PT_LOAD) continue;
    const offset = view.getUint32(header + 4, true);
    const physical = view.getUint32(header + 12, true);
    const size = view.getUint32(header + 16, true);
    if (size > 0 && physical >= FLASH && physical + size <= FLASH + mcu.flash.length) {
      mcu.flash.set(elf.subarray(offset, offset + size), physical - FLASH);
    }
  }
}
