// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::DeviceFlow: any QIODevice as a flow.

#include <rill/transport.h>

#include <QtCore/QIODevice> // complete, for the device property

namespace rill {

/// Any QIODevice as a flow: a QProcess, a QFile, a QLocalSocket, a QSerialPort, a QBuffer.
///
/// Bytes, ends of stream, errors and backpressure are mapped as faithfully as the device
/// allows, and what it cannot do is an error, never silence:
///
/// - **Reading.** read() gives what the device delivers (QIODevice::readyRead), then Eof: for a
///   QProcess when its standard output closes or the process exits normally; for a random-access
///   device (a QFile of a regular file, a QBuffer) at its end; for a socket when the peer closed
///   (QAbstractSocket::RemoteHostClosedError, QLocalSocket::PeerClosedError) or the device
///   signalled QIODevice::readChannelFinished(). A device not open for reading gives Eof at
///   once: nothing will ever come from it. The flow takes bytes from the device only while it
///   wants them (its read-ahead of 64 KiB), but a device that buffers by itself (QProcess,
///   QLocalSocket) keeps reading its own end; only the flow's share is bounded. A QFile has no
///   notifications: over a pipe or terminal its reads would block the thread, so use
///   rill::DescriptorFlow there.
/// - **Writing.** The send queue is bounded as for every flow. A sequential device (a process,
///   a socket, a serial port) gets at most 256 KiB ahead of what it reported with
///   QIODevice::bytesWritten(), and bytes count as sent (Flow::writeSent(), FlowStats::bytesWritten)
///   only once the device reported them written; a random-access device (a file) is written and
///   flushed at once. Writing to a device not open for writing fails the write side with an
///   error of kind InvalidArgument; reading goes on.
/// - **Half-close.** shutdown(Write) is QProcess::closeWriteChannel() for a process; for a device
///   open only for writing it closes the device (the file is complete); for a random-access
///   device open for both it flushes (the stream ends where writing stopped). Any other device
///   (a socket, a serial port) cannot end one direction alone: shutdown(Write), and so close(),
///   resolve with an error of kind Unsupported, the write side fails and reading goes on (for
///   sockets with a true half-close use TcpFlow or LocalFlow).
/// - **Errors.** Device errors become flow errors carrying the device's
///   QIODevice::errorString(): a process that fails to start (kind Other) or crashes (kind Reset,
///   after the output it wrote), a failed read or write, a socket error. A process that exits
///   while accepted bytes are still queued fails the write side with an error of kind Closed
///   saying how many were not sent (Flow::writeLost(), FlowStats::bytesUnsent).
/// - **Opening.** A device that is open makes an Open flow. A QProcess still starting makes a
///   Connecting flow that opens on QProcess::started() (or fails on QProcess::FailedToStart). A
///   device that is not open, or null, makes a flow that fails with kind InvalidArgument as
///   soon as the event loop runs.
/// - **Ending.** abort() (and destroying the flow while open, and every error) closes the device;
///   a process is killed. When both directions ended cleanly the device is left as it is. If the
///   device is deleted under the flow, the flow fails with an error of kind Aborted; nothing
///   touches the deleted device.
///
/// Deadlines, cancellation and the idle timeout are Flow's and work the same for every device.
///
/// The flow owns the device's input and output: nothing else may read from or write to it. It
/// does not own the device as a QObject: make the device a child of the flow (or of its
/// parent) to tie their lifetimes. The device must live in the flow's thread: a device that is a
/// child of the flow moves with it; a flow whose device is left in another thread fails with
/// kind InvalidArgument when it arrives in its new thread.
///
/// \code
/// auto *process = new QProcess;
/// process->start(QStringLiteral("sha256sum"));
/// auto *flow = new rill::DeviceFlow(process, this);
/// process->setParent(flow);
/// flow->write(data);
/// flow->shutdown(rill::Flow::Direction::Write); // closeWriteChannel() after the last byte
/// flow->read().then(this, [](const rill::ReadResult &r) { qDebug() << r.data(); });
/// \endcode
class RILL_EXPORT DeviceFlow : public TransportFlow
{
    Q_OBJECT
    /// The device this flow runs on (see device()).
    Q_PROPERTY(QIODevice *device READ device CONSTANT)
public:
    /// Makes a flow over \a device (not taking ownership of it) with the given QObject \a parent.
    ///
    /// Call it in the device's thread. Flow::transportName() is "process" for a QProcess, "file"
    /// for a QFileDevice, "device" for anything else.
    explicit DeviceFlow(QIODevice *device, QObject *parent = nullptr);
    /// Aborts the flow if it is still open (a running process is killed, another device closed).
    ~DeviceFlow() override;

    /// The device this flow runs on, or null once it was deleted. Call it in the flow's thread.
    QIODevice *device() const;

private:
    Q_DISABLE_COPY(DeviceFlow)
};

} // namespace rill
