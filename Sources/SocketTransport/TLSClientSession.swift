internal import CWebSockets

/// A client TLS session over memory BIOs: ciphertext in and out as bytes, driven from the service thread.
///
/// The line socket uses it because lws 4.1.6's raw-role TLS client calls SSL_connect before the socket
/// exists (warmcat/libwebsockets#2916). Owns its SSL_CTX and SSL (which owns both BIOs).
final class TLSClientSession {
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private(set) var handshakeDone = false
    private var scratch = [UInt8](repeating: 0, count: 16 * 1024)

    struct Failure: Error { let message: String }

    init(host: String, verify: Bool, caFile: String?) throws(Failure) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw Failure(message: "SSL_CTX_new failed") }
        if verify {
            let loaded = caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
            guard loaded == 1 else {
                SSL_CTX_free(context)
                throw Failure(message: "could not load CA certificates from \(caFile ?? "the system store")")
            }
        }
        SSL_CTX_set_verify(context, verify ? pb_ssl_verify_peer() : pb_ssl_verify_none(), nil)
        guard let ssl = SSL_new(context), let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_CTX_free(context)
            throw Failure(message: "SSL_new or BIO_new failed")
        }
        self.context = context
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_connect_state(ssl)
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        if !isIP { _ = pb_ssl_set_sni(ssl, host) }
        if verify {
            if isIP {
                _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
            } else {
                _ = SSL_set1_host(ssl, host)
            }
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Advances the handshake; returns true once it is complete.
    func handshake() throws(Failure) -> Bool {
        if handshakeDone { return true }
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshakeDone = true
            return true
        }
        let error = SSL_get_error(ssl, result)
        if error == pb_ssl_error_want_read() || error == pb_ssl_error_want_write() { return false }
        throw failure("TLS handshake failed")
    }

    /// Feeds ciphertext from the network.
    func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        _ = BIO_write(readBIO, base, Int32(bytes.count))
    }

    /// Decrypts whatever is available; returns the plaintext and whether the peer sent close_notify.
    func readPlaintext() throws(Failure) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        while true {
            let count = scratch.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                out.append(contentsOf: scratch[0..<Int(count)])
                continue
            }
            let error = SSL_get_error(ssl, count)
            if error == pb_ssl_error_want_read() || error == pb_ssl_error_want_write() { return (out, false) }
            if error == pb_ssl_error_zero_return() { return (out, true) }
            throw failure("TLS read failed")
        }
    }

    /// Encrypts plaintext into the outgoing ciphertext buffer.
    func writePlaintext(_ bytes: [UInt8]) throws(Failure) {
        if bytes.isEmpty { return }
        let written = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        if written != Int32(bytes.count) { throw failure("TLS write failed") }
    }

    /// Takes the ciphertext waiting to be sent.
    func takeCiphertext() -> [UInt8] {
        var out: [UInt8] = []
        while BIO_ctrl_pending(writeBIO) > 0 {
            let count = scratch.withUnsafeMutableBytes { BIO_read(writeBIO, $0.baseAddress, Int32($0.count)) }
            if count <= 0 { break }
            out.append(contentsOf: scratch[0..<Int(count)])
        }
        return out
    }

    private func failure(_ what: String) -> Failure {
        var detail = ""
        let verify = SSL_get_verify_result(ssl)
        if verify != 0, let text = X509_verify_cert_error_string(verify) {
            detail = "certificate verification: " + String(cString: text)
        }
        let code = ERR_get_error()
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            detail += (detail.isEmpty ? "" : "; ") + text
        }
        ERR_clear_error()
        return Failure(message: detail.isEmpty ? what : "\(what): \(detail)")
    }
}
