// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::FlowResult, what connecting or accepting gives.

#include <rill/error.h>

#include <QtCore/QObject>

#include <memory>

namespace rill {

/// What connecting or accepting gives: a flow of type FlowType, or the error that prevented one.
///
/// Ownership: the result owns the flow until someone calls takeFlow(). Copies share that one
/// flow; if no copy's takeFlow() was called when the last copy goes, the flow is deleted (with
/// deleteLater(), so this is safe from any thread). So an ignored result never leaks.
///
/// \sa TcpFlow::connectToHost(), LocalFlow::connectToServer(), connectTo(), TcpListener::accept()
template<typename FlowType>
class FlowResult
{
public:
    /// Neither a flow nor an error: isOk() is false and error() has kind None.
    FlowResult() = default;

    /// A result that owns \a flow.
    static FlowResult fromFlow(FlowType *flow)
    {
        FlowResult result;
        result.m_holder = std::make_shared<Holder>(flow);
        return result;
    }
    /// A result holding \a error instead of a flow.
    static FlowResult fromError(const Error &error)
    {
        FlowResult result;
        result.m_error = error;
        return result;
    }

    /// True if the result has (or had, before takeFlow()) a flow.
    bool isOk() const { return m_holder != nullptr; }
    /// Why there is no flow; of kind Error::Kind::None if isOk().
    Error error() const { return m_error; }

    /// The flow, still owned by the result (null after takeFlow() or for an error).
    FlowType *flow() const { return m_holder ? m_holder->flow : nullptr; }

    /// Hands the flow to the caller; later calls, on any copy, return null.
    std::unique_ptr<FlowType> takeFlow()
    {
        if (!m_holder)
            return nullptr;
        return std::unique_ptr<FlowType>(std::exchange(m_holder->flow, nullptr));
    }

private:
    struct Holder
    {
        explicit Holder(FlowType *f) : flow(f) {}
        ~Holder()
        {
            if (flow)
                flow->deleteLater();
        }
        Q_DISABLE_COPY(Holder)
        FlowType *flow;
    };
    std::shared_ptr<Holder> m_holder;
    Error m_error;
};

} // namespace rill
