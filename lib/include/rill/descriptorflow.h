// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::DescriptorFlow and rill::StdioFlow: a pair of Unix descriptors, or standard input and
/// output, as one flow.

#include <rill/transport.h>

namespace rill {

/// Two Unix descriptors as one flow: read() takes what arrives on the read descriptor, write()
/// goes to the write descriptor, shutdown(Write) ends the output.
///
/// Pipes, sockets and terminals are driven by a QSocketNotifier, regular files (and /dev/null,
/// where readiness means nothing) by plain blocking calls in turns of the event loop. Pipes and
/// sockets are made non-blocking (O_NONBLOCK, which belongs to the open file and so is shared
/// with other processes: restoreDescriptorFlags() puts the flags back), except an output that
/// shares its pipe with stderr, which stays blocking so that messages on stderr are never lost.
/// A terminal is left as the shell set it: input is read once per notification, output written
/// with blocking calls.
///
/// Backpressure as for every flow: input is read only while the flow wants bytes (its 64 KiB
/// read-ahead, or a pending read), so a reader who stops reading stops the writer at the other
/// end of the pipe; output leaves the bounded send queue as the descriptor takes it.
///
/// End of stream: a read of 0 bytes is Eof. shutdown(Write) and close() end the output once
/// every queued byte was written: a socket gets its FIN (shutdown(SHUT_WR)), and the write
/// descriptor is closed so a pipe's reader sees its end. When both descriptors are one socket,
/// only SHUT_WR is sent and reading goes on; one descriptor for both directions that is not a
/// socket (a terminal, a pty's master) cannot end one direction alone: shutdown(Write) then
/// resolves with an error of kind Unsupported and reading goes on.
///
/// Errors name the descriptor ("stdin: input/output error", "stdout: broken pipe"): a failed
/// read fails the flow; a failed write (a reader that went away: EPIPE) fails the write side,
/// counting what was not written, and reading goes on.
///
/// Ownership: the flow owns the descriptors it was given and closes them when their direction
/// ends and when the flow ends. Standard descriptors (0, 1, 2) are never closed: /dev/null takes
/// their place, so that their numbers cannot be reused by a file opened later and written to by
/// accident. A descriptor of -1 is a direction that does not exist: reads give Eof at once, or
/// writes fail with an error of kind InvalidArgument.
///
/// Set SIGPIPE to SIG_IGN (as any program writing to pipes should), or a write to a pipe
/// whose reader went away ends the process instead of failing the write side.
class RILL_EXPORT DescriptorFlow : public TransportFlow
{
    Q_OBJECT
public:
    /// Reads are at most this big: enough that a bulk copy is not dominated by system calls.
    static constexpr qint64 ChunkSize = 128 * 1024;

    /// Makes a flow reading \a readFd and writing \a writeFd (they may be the same socket),
    /// taking ownership of both, with the given QObject \a parent.
    ///
    /// Flow::transportName() is "descriptor"; errors name the descriptors "fd N".
    DescriptorFlow(int readFd, int writeFd, QObject *parent = nullptr);
    /// Aborts the flow if it is still open and releases the descriptors as described above.
    ~DescriptorFlow() override;

    /// Puts back the file status flags (O_NONBLOCK) that any DescriptorFlow changed on the
    /// descriptors it was given. Async-signal-safe: call it from a handler of SIGINT or SIGTERM
    /// before the process ends, so that a shell sharing the terminal or pipe is not left with
    /// non-blocking descriptors. Flags are also put back when a direction ends.
    static void restoreDescriptorFlags();

protected:
    /// For subclasses: a flow over \a readFd and \a writeFd whose errors name them \a readName
    /// and \a writeName, and whose Flow::transportName() is \a transportName.
    DescriptorFlow(int readFd, int writeFd, const QString &readName, const QString &writeName,
                   const QString &transportName, QObject *parent);

private:
    Q_DISABLE_COPY(DescriptorFlow)
};

/// Standard input and output as one flow (transportName() "stdio"), so that rill::copy() and
/// rill::proxy() apply to them unchanged: rillcat is rill::proxy() between a StdioFlow and a
/// network flow.
///
/// read() gives what arrives on standard input, write() goes to standard output, shutdown(Write)
/// closes standard output (its reader sees the end; /dev/null takes descriptor 1's place).
/// Errors name "stdin" and "stdout". Everything else is DescriptorFlow's. Make at most one
/// StdioFlow per process.
class RILL_EXPORT StdioFlow : public DescriptorFlow
{
    Q_OBJECT
public:
    /// Makes the flow over descriptors 0 and 1, with the given QObject \a parent.
    explicit StdioFlow(QObject *parent = nullptr);
    /// Aborts the flow if it is still open; descriptors 0 and 1 stay valid (on /dev/null).
    ~StdioFlow() override;

private:
    Q_DISABLE_COPY(StdioFlow)
};

} // namespace rill
