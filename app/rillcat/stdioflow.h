// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/error.h>
#include <rill/pipeflow.h>

#include <QtCore/QObject>

#include <memory>

class FdReader;
class FdWriter;

// How a descriptor is driven: by a QSocketNotifier (pipes, sockets, terminals), or with plain
// blocking calls where readiness means nothing (regular files, /dev/null: poll() always says
// ready, and reads and writes there do not wait for a peer).
enum class IoMode { Notifier, Blocking };

// Standard input and output as one rill::Flow, so that copy() and proxy() apply unchanged:
// read() gives what arrives on the input descriptor, write() goes to the output descriptor,
// shutdown(Write) closes the output.
//
// Flow's transport interface is private to the library, so flow() is one end of a PipeFlow pair
// and two pumps drive the other end: one reads the input descriptor into it, one writes what
// comes out of it to the output descriptor. The pair's bounded buffers carry the backpressure:
// the input is read only while the pair accepts, and the pair gives the next segment for the
// output only once the descriptor took the previous one.
class StdioFlow : public QObject
{
    Q_OBJECT
public:
    // Reads in chunks this big: large enough that a bulk copy is not dominated by system calls.
    static constexpr qint64 ChunkSize = 128 * 1024;

    StdioFlow(int inputFd, int outputFd, QObject *parent = nullptr);
    ~StdioFlow() override;

    rill::Flow *flow() const;

    // Starts reading the input. The flow's peer (whoever reads flow()) sees its end of stream
    // once the input ends.
    void start();

    // The output was written to its end and closed, or it failed.
    bool isOutputDone() const { return m_outputDone; }
    // The first error of either descriptor ("stdin: ..."), or an Error of kind None.
    rill::Error error() const { return m_error; }

    // Puts back the descriptors' flags this process changed (O_NONBLOCK); async-signal-safe.
    static void restoreDescriptorFlags();

Q_SIGNALS:
    void outputDone();
    void failed(const rill::Error &error);

private:
    friend class FdReader;
    friend class FdWriter;
    void fail(const rill::Error &error);
    void finishOutput();

    std::unique_ptr<rill::PipeFlow> m_outer; // what copy() and proxy() see
    std::unique_ptr<rill::PipeFlow> m_inner; // what the pumps drive
    FdReader *m_reader = nullptr;
    FdWriter *m_writer = nullptr;
    rill::Error m_error;
    bool m_outputDone = false;
};
