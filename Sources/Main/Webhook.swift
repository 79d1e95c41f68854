import Admission
import EventLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Runs the webhook with a validated configuration: builds the pieces, starts the listeners,
/// tells systemd, and waits for a termination signal. Wiring only: every piece lives in its own file.
enum Webhook {
    /// Serves until SIGTERM/SIGINT; returns the process exit code.
    static func run(_ configuration: Configuration) async throws(ConfigurationError) -> Int32 {
        LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "irsa-webhook")
        let metrics = WebhookMetrics(version: IRSAWebhook.version)
        let readiness = Readiness()
        var configuration = configuration

        if configuration.dev {
            try DevSamples.writeBuiltIns()
            let generated = try DevCertificate.generate()
            configuration.tlsCertFile = generated.certificate
            configuration.tlsKeyFile = generated.key
        }
        let tlsConfiguration = TLSConfiguration.server(
            certificateChain: .file(configuration.tlsCertFile), privateKey: .file(configuration.tlsKeyFile),
            clientCertificateAuthority: configuration.clientCAFile.map { .file($0) })
        let tls: ReloadableTLSContext
        do {
            tls = try ReloadableTLSContext(configuration: tlsConfiguration)
        } catch {
            throw ConfigurationError("TLS certificate or key: \(error)")
        }
        readiness.markCertificateLoaded()

        let group = EventLoopGroup(threads: configuration.threads)
        let sources = try ServiceAccountSources(configuration, group: group, environment: ProcessEnvironment.variables(), metrics: metrics)
        let patchConfig = configuration.patchConfig
        /// The listeners by name, set once they listen: /metrics reads their accept pauses.
        let listeners = LockedValue<[(name: String, server: TCPServer)]>([])
        let routes = Routes(
            handlers: group.loops.map { loop in
                (loop: loop, handler: AdmissionHandler(
                    configuration: patchConfig, serviceAccounts: sources.perLoop[ObjectIdentifier(loop)]!,
                    failClosed: configuration.failClosed))
            },
            readiness: readiness, metrics: metrics, logger: logger,
            beforeMetrics: {
                await SourceStatistics.export(sources, to: metrics)
                metrics.catchUpLogLinesDropped(to: LogSink.standardError.droppedLines)
                for (name, listener) in listeners.withLock({ $0 }) { metrics.acceptPauses.catchUp(name, to: listener.acceptPauses) }
            })

        RequestBodyBudget.returnLargeBodiesToTheSystem()
        var serverConfiguration = HTTPServer.Configuration()
        serverConfiguration.limits.maxBodySize = configuration.maxBodyBytes
        serverConfiguration.bodyBudget = RequestBodyBudget(capacity: configuration.maxBufferedBodyBytes)
        serverConfiguration.timeouts = configuration.timeouts
        var listenerConfiguration = TCPServer.Configuration()
        listenerConfiguration.maxConnections = configuration.maxConnections
        let observer = MetricsObserver(metrics: metrics, logger: logger)
        let webhookServer = HTTPServer(group: group, router: routes.webhookRouter(), configuration: serverConfiguration, observer: observer)
        let inherited = Systemd.listenDescriptors()
        if !configuration.reusePort {
            if inherited.isEmpty {
                try PortOwnership.ensureUnclaimed(host: configuration.host, port: configuration.port, flag: "--port")
            }
            if let metricsPort = configuration.metricsPort {
                try PortOwnership.ensureUnclaimed(host: configuration.host, port: metricsPort, flag: "--metrics-port")
            }
        }
        let listener: TCPServer
        do {
            if inherited.isEmpty {
                let address = try SocketAddress(host: configuration.host, port: configuration.port)
                listener = try webhookServer.start(address: address, tls: tls, listenerConfiguration: listenerConfiguration)
            } else {
                let sockets = try inherited.map { try ListeningSocket(adopting: $0) }
                listener = webhookServer.start(listeners: sockets, tls: tls, listenerConfiguration: listenerConfiguration)
            }
        } catch {
            throw ConfigurationError("cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        listeners.withLock { $0.append(("webhook", listener)) }
        var servers = [webhookServer]
        var metricsAddress = "disabled"
        if let metricsPort = configuration.metricsPort {
            var metricsConfiguration = serverConfiguration
            metricsConfiguration.limits.maxBodySize = 0  // health and metrics take no bodies
            let metricsServer = HTTPServer(group: group, router: routes.healthRouter(), configuration: metricsConfiguration)
            do {
                let bound = try metricsServer.start(address: try SocketAddress(host: configuration.host, port: metricsPort))
                metricsAddress = bound.localAddress.description
                listeners.withLock { $0.append(("metrics", bound)) }
            } catch {
                throw ConfigurationError("cannot listen on \(configuration.host):\(metricsPort) (--metrics-port): \(error)")
            }
            servers.append(metricsServer)
        }

        let certificateWatcher = try CertificateReloader.watch(
            configuration: tlsConfiguration, paths: [configuration.tlsCertFile, configuration.tlsKeyFile] + (configuration.clientCAFile.map { [$0] } ?? []),
            context: tls, metrics: metrics, logger: logger)
        var serviceAccountsFileWatcher: FileWatcher?
        if case .file(let path) = configuration.serviceAccounts, let file = sources.file {
            serviceAccountsFileWatcher = try ServiceAccountFileReloader.watch(path: path, filter: sources.filter, source: file, logger: logger)
        }
        var backgroundTasks = [
            CertificateExpiry.watch(tls, metrics: metrics, logger: logger, loop: group.loops[0]),
            SourceReadiness.start(sources, readiness: readiness, loop: group.loops[0], logger: logger),
        ].compactMap { $0 }
        if let narrowing = sources.narrowing {
            readiness.addDetail { NarrowingStatus.line(narrowing) }
            backgroundTasks.append(narrowing.start(loop: group.loops[0]))
        }

        logger.info("listening", metadata: [
            "address": "\(listener.localAddress)", "metricsAddress": "\(metricsAddress)",
            "threads": .stringConvertible(configuration.threads), "serviceAccounts": "\(configuration.serviceAccounts)",
            "serviceAccountMode": "\(sources.file != nil ? "file" : configuration.serviceAccountMode.rawValue)",
            "version": "\(IRSAWebhook.version)",
        ])
        if configuration.dev {
            print("irsa-webhook dev mode: https://\(listener.localAddress)/mutate (CA: \(configuration.tlsCertFile))")
            print("Try it:\n" + DevCertificate.curlCommand(port: listener.localAddress.port, certificate: configuration.tlsCertFile))
            fflush(nil)
        }
        Systemd.notify("READY=1\nSTATUS=serving on \(listener.localAddress)")
        if let interval = Systemd.watchdogInterval() {
            Systemd.startWatchdog(interval: interval, loops: group.loops)
        }

        let signal = await TerminationSignal.next()
        logger.info("shutting down", metadata: ["signal": "\(signal)", "graceSeconds": .stringConvertible(Double(configuration.shutdownGrace.totalNanoseconds) / 1e9)])
        TerminationSignal.exitOnNext()
        let clean = await Shutdown.perform(servers: servers, readiness: readiness, grace: configuration.shutdownGrace, logger: logger)
        // exit() runs OpenSSL's atexit cleanup: first end every thread that may be inside OpenSSL
        // (a certificate reload, handshakes and API requests on the loops). Background tasks (the
        // informer's LIST and WATCH among them) end first: a task still waiting on a stopped
        // loop's timer or socket would never finish; cancelled, their waits fail at once and
        // they close their connections.
        for task in backgroundTasks { task.cancel() }
        for task in backgroundTasks { await task.value }
        certificateWatcher.stop()
        serviceAccountsFileWatcher?.stop()
        group.shutdown()
        return clean ? 0 : 1
    }
}
