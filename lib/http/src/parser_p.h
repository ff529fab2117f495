// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// llhttp behind a small interface: feed() it whatever bytes arrive; it reports the message's
// head, its body bytes and its end through the handlers, and pauses after each message so that
// a pipelined next one waits (unparsed, with the caller) until the caller is ready for it.

#include <rill/http/message.h>
#include <rill/pipeflow.h>

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>

#include <functional>
#include <memory>

namespace rill::http {

struct MessageHead
{
    QByteArray method; // requests
    QByteArray target; // requests
    int status = 0;    // responses
    QByteArray reason; // responses
    int minor = 1;
    Headers headers;
    qint64 contentLength = -1; // -1: none given
    bool chunked = false;
    bool keepAlive = true; // what the message asks for the connection
    bool upgrade = false;
};

class Parser
{
public:
    enum class Type { Request, Response };
    enum class Status {
        NeedMore,     // every byte was parsed; the message goes on
        Complete,     // a message ended; consumed says where, the rest is the next message's
        HeadTooLarge, // the head passed maxHeadSize
        Invalid,      // malformed (errorText says how)
    };
    struct Result
    {
        Status status = Status::NeedMore;
        qsizetype consumed = 0;
    };

    explicit Parser(Type type);
    ~Parser();

    void setMaxHeadSize(qsizetype bytes) { m_maxHeadSize = bytes; }
    // A response to HEAD (or 204/304 as llhttp knows) has no body: say so before its head.
    void setExpectNoBody(bool noBody) { m_expectNoBody = noBody; }

    // Called from inside feed(): the head (return false to fail the message), body bytes, the
    // end of the message with its trailers.
    std::function<bool(const MessageHead &head)> onHead;
    std::function<bool(QByteArrayView data)> onBody; // false fails the message
    std::function<void(const Headers &trailers)> onComplete;

    Result feed(QByteArrayView data);
    // The stream ended: completes a message delimited by the end of the stream, or reports one
    // cut short (Invalid).
    Status finish();
    // Whether a message has started and not completed.
    bool inMessage() const { return m_inMessage; }
    bool headComplete() const { return m_headComplete; }
    QString errorText() const { return m_errorText; }

private:
    struct Callbacks;
    friend struct Callbacks;
    void reset();
    bool countHead(size_t length);
    bool endField();

    struct State;
    std::unique_ptr<State> m_state;
    Type m_type;
    qsizetype m_maxHeadSize = 64 * 1024;
    qsizetype m_headSize = 0;
    bool m_expectNoBody = false;
    bool m_inMessage = false;
    bool m_headComplete = false;
    bool m_headTooLarge = false;
    bool m_paused = false;
    bool m_rejected = false;
    MessageHead m_head;
    Headers m_trailers;
    QByteArray m_field;
    QByteArray m_value;
    bool m_inValue = false;
    QString m_errorText;
};

// A received streamed body's trailers: the slot the message's copies read trailers() from,
// filled by the parser's owner before the body flow's Eof.
std::shared_ptr<Headers> receiveTrailers(Request &request);
std::shared_ptr<Headers> receiveTrailers(Response &response);

// A body streamed to its reader through a PipeFlow pair ends with shutdown(Write) on the
// writing end; that end must outlive what is still in the pipe, so it goes to the reading end
// as a child (destroying it early would make the reader see a reset, not Eof).
inline void endBody(std::unique_ptr<PipeFlow> &writer, Flow *reader)
{
    if (!writer)
        return;
    writer->shutdown(Flow::Direction::Write);
    if (reader)
        writer.release()->setParent(reader);
    else
        writer.reset();
}

} // namespace rill::http
