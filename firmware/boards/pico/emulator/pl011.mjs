// The RP2040's UART, an ARM PL011, as its data sheet (RP2040 §4.2) and ARM's PL011 manual
// describe it, for rp2040js: rp2040js's own UART raises its transmit interrupt again on every
// register access and has no receive errors, which embassy-rp's interrupt-driven
// `BufferedUart` cannot run on (its handler relies on the transmit interrupt firing once per
// threshold crossing) and which the test of issue 11 needs (an error in the data register).
//
// What is modelled: 32-entry FIFOs both ways, characters on the wire at the programmed baud
// rate (10 bit times each, 8N1), the FIFO level interrupts (receive at or above its level;
// transmit when draining through its level), the receive timeout (32 bit times without a
// new character), the error bits of each received character (framing, parity, break,
// overrun) with their interrupts, and overrun when a character arrives at a full FIFO.
// Not modelled: DMA requests, modem lines, IrDA, loopback, 9-bit and parity framing.

const DR = 0x00;
const RSR = 0x04;
const FR = 0x18;
const IBRD = 0x24;
const FBRD = 0x28;
const LCR_H = 0x2c;
const CR = 0x30;
const IFLS = 0x34;
const IMSC = 0x38;
const RIS = 0x3c;
const MIS = 0x40;
const ICR = 0x44;
const DMACR = 0x48;

// FR
const BUSY = 1 << 3;
const RXFE = 1 << 4;
const TXFF = 1 << 5;
const RXFF = 1 << 6;
const TXFE = 1 << 7;

// RIS, MIS, IMSC, ICR
const RXI = 1 << 4;
const TXI = 1 << 5;
const RTI = 1 << 6;
const FEI = 1 << 7;
const PEI = 1 << 8;
const BEI = 1 << 9;
const OEI = 1 << 10;

/** The error bits of a received character, as the data register holds them above its byte. */
export const FRAMING = 1 << 8;
export const PARITY = 1 << 9;
export const BREAK = 1 << 10;
export const OVERRUN = 1 << 11;

const FIFO = 32;
// IFLS's 3-bit selects: 1/8, 1/4, 1/2, 3/4, 7/8 of the FIFO.
const LEVELS = [4, 8, 16, 24, 28];

export class PL011 {
  /**
   * @param clock rp2040js's clock (`nanos`, `createAlarm`)
   * @param clkPeri the peripheral clock in Hz, which the baud divisor divides
   * @param setIrq called with the interrupt line's level whenever it may have changed
   * @param transmit called with each character as its last bit leaves the TX pin
   */
  constructor(clock, clkPeri, setIrq, transmit) {
    this.clock = clock;
    this.clkPeri = clkPeri;
    this.setIrq = setIrq;
    this.transmit = transmit;
    this.rx = []; // 12-bit entries: the byte and its error bits
    this.tx = [];
    this.ris = 0;
    this.imsc = 0;
    this.ibrd = 0;
    this.fbrd = 0;
    this.lcrH = 0;
    this.cr = 0x300;
    this.ifls = 0x12;
    this.dmacr = 0;
    this.rsr = 0;
    this.overrunPending = false;
    this.sending = false;
    this.timeout = clock.createAlarm(() => {
      if (this.rx.length > 0) this.raise(RTI);
    });
    this.shifted = clock.createAlarm(() => this.shiftedOut());
  }

  /** One character time on the wire: a start bit, 8 data bits, a stop bit. */
  get charNanos() {
    const divisor = this.ibrd + this.fbrd / 64;
    const baud = divisor > 0 ? this.clkPeri / (16 * divisor) : 115200;
    return (10 * 1e9) / baud;
  }

  get rxLevel() {
    return LEVELS[(this.ifls >> 3) & 7] ?? 16;
  }

  get txLevel() {
    return LEVELS[this.ifls & 7] ?? 16;
  }

  /** A character has arrived on the RX pin (its stop bit just ended), with error bits. */
  receive(byte, errors = 0) {
    if (this.rx.length === FIFO) {
      // The FIFO keeps what it has; this character is lost, and the next one to enter
      // carries the overrun bit.
      this.overrunPending = true;
      this.rsr |= OVERRUN >> 8;
      this.raise(OEI);
      return;
    }
    let entry = (byte & 0xff) | errors;
    if (this.overrunPending) {
      entry |= OVERRUN;
      this.overrunPending = false;
    }
    this.rx.push(entry);
    if (entry & FRAMING) this.raise(FEI);
    if (entry & PARITY) this.raise(PEI);
    if (entry & BREAK) this.raise(BEI);
    if (this.rx.length >= this.rxLevel) this.raise(RXI);
    this.timeout.schedule(3.2 * this.charNanos);
  }

  readUint32(offset) {
    switch (offset) {
      case DR: {
        const entry = this.rx.shift() ?? 0;
        this.rsr = (entry >> 8) & 0xf;
        if (this.rx.length < this.rxLevel) this.ris &= ~RXI;
        if (this.rx.length === 0) this.ris &= ~RTI;
        this.update();
        return entry;
      }
      case RSR:
        return this.rsr;
      case FR:
        return (
          (this.rx.length === 0 ? RXFE : 0) |
          (this.rx.length === FIFO ? RXFF : 0) |
          (this.tx.length === FIFO ? TXFF : 0) |
          (this.tx.length === 0 && !this.sending ? TXFE : 0) |
          (this.sending ? BUSY : 0)
        );
      case IBRD:
        return this.ibrd;
      case FBRD:
        return this.fbrd;
      case LCR_H:
        return this.lcrH;
      case CR:
        return this.cr;
      case IFLS:
        return this.ifls;
      case IMSC:
        return this.imsc;
      case RIS:
        return this.ris;
      case MIS:
        return this.ris & this.imsc;
      case DMACR:
        return this.dmacr;
      default:
        // The identification registers and anything else: nothing a driver here reads.
        return 0;
    }
  }

  writeUint32(offset, value) {
    switch (offset) {
      case DR:
        if (this.tx.length < FIFO) this.tx.push(value & 0xff);
        if (this.tx.length > this.txLevel) this.ris &= ~TXI;
        if (!this.sending) this.startSending();
        this.update();
        break;
      case RSR:
        this.rsr = 0;
        break;
      case IBRD:
        this.ibrd = value & 0xffff;
        break;
      case FBRD:
        this.fbrd = value & 0x3f;
        break;
      case LCR_H:
        this.lcrH = value & 0xff;
        break;
      case CR:
        this.cr = value & 0xffff;
        break;
      case IFLS:
        this.ifls = value & 0x3f;
        break;
      case IMSC:
        this.imsc = value & 0x7ff;
        this.update();
        break;
      case ICR:
        this.ris &= ~value;
        this.update();
        break;
      case DMACR:
        this.dmacr = value & 7;
        break;
    }
  }

  /** rp2040js's access with the RP2040's atomic aliases (XOR, set, clear at +0x1000..). */
  writeUint32Atomic(offset, value, atomicType) {
    const current = this.registerForAlias(offset);
    switch (atomicType) {
      case 1:
        return this.writeUint32(offset, current ^ value);
      case 2:
        return this.writeUint32(offset, current | value);
      case 3:
        return this.writeUint32(offset, current & ~value);
      default:
        return this.writeUint32(offset, value);
    }
  }

  // An alias write reads its register without a read's side effects (a DR read pops).
  registerForAlias(offset) {
    return offset === DR || offset === ICR ? 0 : this.readUint32(offset);
  }

  startSending() {
    if (this.tx.length === 0) return;
    this.sending = true;
    this.shifted.schedule(this.charNanos);
  }

  shiftedOut() {
    const byte = this.tx.shift();
    this.sending = false;
    this.transmit(byte);
    // The transmit interrupt fires as the FIFO drains through its level, not while it is
    // there: a handler that clears it is not called again until the next crossing.
    if (this.tx.length === this.txLevel) this.raise(TXI);
    this.startSending();
  }

  raise(bits) {
    this.ris |= bits;
    this.update();
  }

  update() {
    this.setIrq((this.ris & this.imsc) !== 0);
  }
}
