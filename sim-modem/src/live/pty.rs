//! A pseudo-terminal for the modem's UART: the simulator holds the master side, a host
//! program (picocom, minicom, pyserial, a firmware's host runner) opens the slave device.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::pty::{openpty, OpenptyResult};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The master side of a pty in raw mode, as an async byte stream.
pub struct Pty {
    master: AsyncFd<File>,
    /// Held open so that the master never sees a hang-up (EIO) while no program has the
    /// slave open; bytes written meanwhile wait in the pty for the next reader.
    _slave: OwnedFd,
    /// The slave device, e.g. `/dev/pts/5`.
    pub path: PathBuf,
}

fn io_error(error: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(error as i32)
}

impl Pty {
    /// Creates a pty in raw mode: no echo, no line editing, no CR/LF translation, 8 bits.
    pub fn open() -> io::Result<Pty> {
        let OpenptyResult { master, slave } = openpty(None, None).map_err(io_error)?;
        let mut termios = tcgetattr(&slave).map_err(io_error)?;
        cfmakeraw(&mut termios);
        tcsetattr(&slave, SetArg::TCSANOW, &termios).map_err(io_error)?;
        let path = nix::unistd::ttyname(&slave).map_err(io_error)?;
        fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(io_error)?;
        // SAFETY: the File owns the master fd, which stays open for as long as the AsyncFd
        // holds the File.
        let master = unsafe { AsyncFd::register(File::from(master)) }?;
        Ok(Pty {
            master,
            _slave: slave,
            path,
        })
    }
}

impl AsyncRead for Pty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.master.poll_read_ready(cx))?;
            match guard.try_io(|file| file.get_ref().read(buf.initialize_unfilled())) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(error)) => return Poll::Ready(Err(error)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Pty {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.master.poll_write_ready(cx))?;
            match guard.try_io(|file| file.get_ref().write(data)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
