// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill-bench: Rill against raw Qt, raw POSIX, QCoro and socat, side by side in one run.

#include "bench.h"

#include <QtCore/QTemporaryDir>

#include <csignal>
#include <cstdio>
#include <cstring>

namespace {

const QStringList AllParts{QStringLiteral("bulk"), QStringLiteral("pingpong"), QStringLiteral("many"),
                           QStringLiteral("memory"), QStringLiteral("rillcat"), QStringLiteral("channel"),
                           QStringLiteral("c10k"), QStringLiteral("tls"),
                           QStringLiteral("probe"), QStringLiteral("http")};

void usage(FILE *out)
{
    std::fprintf(out,
                 "usage: rill-bench [--only PART,...] [--quick | --smoke] [--reps N] [--json PATH]\n"
                 "                  [--markdown PATH] [--plot PATH] [--rillcat PATH] [--verify]\n"
                 "                  [--contenders NAME,...] [--sizes BYTES,...]\n"
                 "parts: bulk, pingpong, many, memory, rillcat, channel, c10k, tls, probe,\n"
                 "       http (default: all)\n"
                 "  --quick     a shorter run (less volume, fewer repetitions)\n"
                 "  --smoke     a few seconds: a few MiB per contender, every byte checked; exits\n"
                 "              non-zero if any contender failed or moved the wrong bytes\n"
                 "  --reps N    repetitions per contender (default 3 full, 2 quick, 1 smoke;\n"
                 "              c10k: rounds, default 5 full, 2 quick, 1 smoke)\n"
                 "  --json PATH where the results go (default bench.json)\n"
                 "  --markdown PATH  also write the tables as Markdown\n"
                 "  --plot PATH      c10k: where the SVG plot of round trips a second against open\n"
                 "              flows goes (default c10k.svg next to the --json file; only when\n"
                 "              the c10k part runs)\n"
                 "  --rillcat PATH   the rillcat binary (default: the one in this build tree)\n"
                 "  --verify    check every byte's value, not only the count (on with --smoke)\n"
                 "  --contenders NAME,...  bulk, pingpong, tls: only contenders whose name contains one\n"
                 "              (TcpFlow, LocalFlow, PipeFlow, QTcpSocket, QLocalSocket, POSIX, QCoro,\n"
                 "              TlsFlow, QSslSocket)\n"
                 "  --sizes BYTES,...      bulk, pingpong, tls: only these write or message sizes\n");
}

} // namespace

int main(int argc, char **argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    // The c10k client runs no event loop and needs no Qt.
    if (argc >= 2 && std::strcmp(argv[1], "--c10k-client") == 0)
        return bench::c10kClient(argc - 2, argv + 2);
    QCoreApplication app(argc, argv);
    QStringList args = app.arguments().mid(1);
    if (!args.isEmpty() && args.first() == QLatin1String("--child"))
        return bench::memoryChild(args.mid(1));
    if (!args.isEmpty() && args.first() == QLatin1String("--probe-subscriber"))
        return bench::probeSubscriber(args.mid(1));

    bench::Options options;
    for (int i = 0; i < args.size(); ++i) {
        const QString a = args.at(i);
        auto value = [&]() -> QString {
            if (i + 1 >= args.size()) {
                std::fprintf(stderr, "rill-bench: %s needs a value\n", qPrintable(a));
                std::exit(2);
            }
            return args.at(++i);
        };
        if (a == QLatin1String("--only")) {
            options.parts = value().split(QLatin1Char(','), Qt::SkipEmptyParts);
            for (const QString &p : std::as_const(options.parts)) {
                if (!AllParts.contains(p)) {
                    std::fprintf(stderr, "rill-bench: unknown part %s\n", qPrintable(p));
                    usage(stderr);
                    return 2;
                }
            }
        } else if (a == QLatin1String("--quick")) {
            options.mode = bench::Mode::Quick;
        } else if (a == QLatin1String("--smoke")) {
            options.mode = bench::Mode::Smoke;
            options.verify = true;
        } else if (a == QLatin1String("--reps")) {
            options.reps = value().toInt();
        } else if (a == QLatin1String("--json")) {
            options.jsonPath = value();
        } else if (a == QLatin1String("--markdown")) {
            options.markdownPath = value();
        } else if (a == QLatin1String("--plot")) {
            options.plotPath = value();
        } else if (a == QLatin1String("--rillcat")) {
            options.rillcatPath = value();
        } else if (a == QLatin1String("--contenders")) {
            options.contenders = value().split(QLatin1Char(','), Qt::SkipEmptyParts);
        } else if (a == QLatin1String("--sizes")) {
            for (const QString &size : value().split(QLatin1Char(','), Qt::SkipEmptyParts))
                options.sizes << size.toLongLong();
        } else if (a == QLatin1String("--verify")) {
            options.verify = true;
        } else if (a == QLatin1String("--help") || a == QLatin1String("-h")) {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "rill-bench: unknown option %s\n", qPrintable(a));
            usage(stderr);
            return 2;
        }
    }

    QTemporaryDir tempDir;
    if (!tempDir.isValid()) {
        std::fprintf(stderr, "rill-bench: cannot make a temporary folder\n");
        return 1;
    }
    bench::Worker worker;
    bench::Env env;
    env.options = options;
    env.worker = &worker;
    env.tempDir = tempDir.path();
    env.selfPath = QCoreApplication::applicationFilePath();

    bench::Report report(env.options);
    const QJsonObject m = report.machine();
    std::printf("rill-bench (%s): %d cores, %s, Qt %s, Linux %s, load average %s\n",
                options.smoke() ? "smoke" : options.quick() ? "quick" : "full", m.value(QStringLiteral("nproc")).toInt(),
                qPrintable(m.value(QStringLiteral("cpu")).toString()), qPrintable(m.value(QStringLiteral("qt")).toString()),
                qPrintable(m.value(QStringLiteral("kernel")).toString()),
                qPrintable(m.value(QStringLiteral("loadavgAtStart")).toString()));
    std::fflush(stdout);

    const bench::Clock::time_point start = bench::Clock::now();
    if (options.wants(QStringLiteral("bulk")))
        bench::runBulk(env, report);
    if (options.wants(QStringLiteral("pingpong")))
        bench::runPingPong(env, report);
    if (options.wants(QStringLiteral("many")))
        bench::runMany(env, report);
    if (options.wants(QStringLiteral("memory")))
        bench::runMemory(env, report);
    if (options.wants(QStringLiteral("rillcat")))
        bench::runRillcat(env, report);
    if (options.wants(QStringLiteral("channel")))
        bench::runChannel(env, report);
    if (options.wants(QStringLiteral("c10k")))
        bench::runC10k(env, report);
    if (options.wants(QStringLiteral("tls")))
        bench::runTls(env, report);
    if (options.wants(QStringLiteral("probe")))
        bench::runProbe(env, report);
    if (options.wants(QStringLiteral("http")))
        bench::runHttp(env, report);
    const double elapsed = bench::secondsSince(start);

    report.printSummary();
    if (!report.writeJson(options.jsonPath, elapsed))
        std::fprintf(stderr, "rill-bench: cannot write %s\n", qPrintable(options.jsonPath));
    if (!options.markdownPath.isEmpty() && !report.writeMarkdown(options.markdownPath, elapsed))
        std::fprintf(stderr, "rill-bench: cannot write %s\n", qPrintable(options.markdownPath));
    std::printf("%.0f s; results in %s; load average now %s\n", elapsed, qPrintable(options.jsonPath),
                qPrintable(bench::loadAverage()));
    return report.failed() ? 1 : 0;
}
