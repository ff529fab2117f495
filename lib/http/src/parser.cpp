// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "bytes_p.h"
#include "parser_p.h"

#include <llhttp.h>

#include <limits>

namespace rill::http {

struct Parser::State
{
    llhttp_t parser;
    llhttp_settings_t settings;
};

struct Parser::Callbacks
{
    static Parser *self(llhttp_t *p) { return static_cast<Parser *>(p->data); }

    static int messageBegin(llhttp_t *p)
    {
        Parser *s = self(p);
        s->m_inMessage = true;
        s->m_headComplete = false;
        s->m_headSize = 0;
        s->m_head = MessageHead();
        s->m_trailers.clear();
        s->m_field.clear();
        s->m_value.clear();
        s->m_inValue = false;
        return 0;
    }
    static int method(llhttp_t *p, const char *at, size_t length)
    {
        Parser *s = self(p);
        appendToken(s->m_head.method, at, length);
        return s->countHead(length) ? 0 : -1;
    }
    static int url(llhttp_t *p, const char *at, size_t length)
    {
        Parser *s = self(p);
        appendToken(s->m_head.target, at, length);
        return s->countHead(length) ? 0 : -1;
    }
    static int status(llhttp_t *p, const char *at, size_t length)
    {
        Parser *s = self(p);
        appendToken(s->m_head.reason, at, length);
        return s->countHead(length) ? 0 : -1;
    }
    static int field(llhttp_t *p, const char *at, size_t length)
    {
        Parser *s = self(p);
        if (s->m_inValue && !s->endField())
            return -1;
        appendToken(s->m_field, at, length);
        return s->countHead(length) ? 0 : -1;
    }
    static int value(llhttp_t *p, const char *at, size_t length)
    {
        Parser *s = self(p);
        s->m_inValue = true;
        appendToken(s->m_value, at, length);
        return s->countHead(length) ? 0 : -1;
    }
    static int valueComplete(llhttp_t *p)
    {
        Parser *s = self(p);
        s->m_inValue = true; // an empty value has no data callback
        return s->endField() ? 0 : -1;
    }
    static int headersComplete(llhttp_t *p)
    {
        Parser *s = self(p);
        if (s->m_inValue && !s->endField())
            return -1;
        s->m_headComplete = true;
        MessageHead &h = s->m_head;
        h.minor = p->http_minor;
        if (p->http_major != 1) {
            s->m_errorText = QStringLiteral("HTTP version %1.%2 not supported")
                                     .arg(p->http_major)
                                     .arg(p->http_minor);
            s->m_rejected = true;
            return -1;
        }
        h.status = p->status_code;
        h.chunked = (p->flags & F_CHUNKED) != 0;
        // llhttp takes any Content-Length that fits 64 unsigned bits; past qint64's range it
        // would read as negative (found by fuzz_http_request): malformed, as for any bad length.
        if ((p->flags & F_CONTENT_LENGTH)
            && p->content_length > quint64(std::numeric_limits<qint64>::max())) {
            s->m_errorText = QStringLiteral("Content-Length out of range");
            s->m_rejected = true;
            return -1;
        }
        h.contentLength = (p->flags & F_CONTENT_LENGTH) ? qint64(p->content_length) : -1;
        h.keepAlive = llhttp_should_keep_alive(p) != 0;
        h.upgrade = p->upgrade != 0;
        if (s->onHead && !s->onHead(h)) {
            s->m_rejected = true;
            return -1;
        }
        return s->m_expectNoBody ? 1 : 0;
    }
    static int body(llhttp_t *p, const char *at, size_t length)
    {
        Parser *s = self(p);
        if (s->onBody && !s->onBody(QByteArrayView(at, qsizetype(length)))) {
            s->m_rejected = true;
            return -1;
        }
        return 0;
    }
    static int messageComplete(llhttp_t *p)
    {
        Parser *s = self(p);
        if (s->m_inValue && !s->endField())
            return -1;
        s->m_inMessage = false;
        if (s->onComplete)
            s->onComplete(s->m_trailers);
        s->m_paused = true;
        return HPE_PAUSED;
    }
};

Parser::Parser(Type type) : m_state(std::make_unique<State>()), m_type(type)
{
    llhttp_settings_init(&m_state->settings);
    llhttp_settings_t &st = m_state->settings;
    st.on_message_begin = Callbacks::messageBegin;
    st.on_method = Callbacks::method;
    st.on_url = Callbacks::url;
    st.on_status = Callbacks::status;
    st.on_header_field = Callbacks::field;
    st.on_header_value = Callbacks::value;
    st.on_header_value_complete = Callbacks::valueComplete;
    st.on_headers_complete = Callbacks::headersComplete;
    st.on_body = Callbacks::body;
    st.on_message_complete = Callbacks::messageComplete;
    reset();
}

Parser::~Parser() = default;

void Parser::reset()
{
    llhttp_init(&m_state->parser, m_type == Type::Request ? HTTP_REQUEST : HTTP_RESPONSE,
                &m_state->settings);
    m_state->parser.data = this;
}

bool Parser::countHead(size_t length)
{
    if (m_headComplete)
        return true; // trailers: bounded by the body's limit
    m_headSize += qsizetype(length);
    if (m_headSize > m_maxHeadSize) {
        m_headTooLarge = true;
        return false;
    }
    return true;
}

bool Parser::endField()
{
    // RFC 9112 5.1: no whitespace between a field name and its colon (a smuggling vector);
    // llhttp 8.1 lets it through.
    if (m_field.contains(' ') || m_field.contains('\t')) {
        m_errorText = QStringLiteral("whitespace in a field name");
        m_rejected = true;
        return false;
    }
    if (!countHead(4)) // ": " and CRLF, once per field however the bytes came
        return false;
    if (m_headComplete)
        m_trailers.append(m_field, m_value);
    else
        m_head.headers.append(m_field, m_value);
    m_field.clear();
    m_value.clear();
    m_inValue = false;
    return true;
}

Parser::Result Parser::feed(QByteArrayView data)
{
    if (m_paused) {
        llhttp_resume(&m_state->parser);
        m_paused = false;
    }
    if (data.isEmpty())
        return {Status::NeedMore, 0};
    const llhttp_errno_t err = llhttp_execute(&m_state->parser, data.data(), size_t(data.size()));
    if (err == HPE_OK)
        return {Status::NeedMore, data.size()};
    if (err == HPE_PAUSED) {
        const char *pos = llhttp_get_error_pos(&m_state->parser);
        return {Status::Complete, pos ? qsizetype(pos - data.data()) : data.size()};
    }
    if (m_headTooLarge)
        return {Status::HeadTooLarge, 0};
    if (!m_rejected || m_errorText.isEmpty())
        m_errorText = QString::fromLatin1(llhttp_get_error_reason(&m_state->parser));
    return {Status::Invalid, 0};
}

Parser::Status Parser::finish()
{
    if (m_paused) {
        llhttp_resume(&m_state->parser);
        m_paused = false;
    }
    const llhttp_errno_t err = llhttp_finish(&m_state->parser);
    if (err == HPE_OK || err == HPE_PAUSED)
        return Status::Complete;
    m_errorText = QString::fromLatin1(llhttp_get_error_reason(&m_state->parser));
    return Status::Invalid;
}

} // namespace rill::http
