internal import CCurl

/// `curl_global_init` must run once per process before any other curl call.
let curlGlobalInitialized: Bool = {
    curl_global_init(pb_curl_global_default()) == CURLE_OK
}()

/// Owns one `CURL*` easy handle plus the C memory its options point at.
///
/// `@unchecked Sendable`: it is configured by the submitting task, then handed to the driver
/// thread and never touched by the submitter again; only one thread uses it at a time.
final class CurlEasy: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init() throws {
        guard let handle = curl_easy_init() else {
            throw HTTPClientError(code: .transport, message: "curl_easy_init failed")
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        pb_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    /// curl's detailed message for the last failure, or empty.
    var errorMessage: String { String(cString: errorBuffer) }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(pb_curl_easy_setopt_long(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: String) throws {
        try check(pb_curl_easy_setopt_string(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: UnsafeMutableRawPointer?) throws {
        try check(pb_curl_easy_setopt_pointer(handle, option, value), option)
    }

    func set(_ option: CURLoption, offset value: Int64) throws {
        try check(pb_curl_easy_setopt_off_t(handle, option, curl_off_t(value)), option)
    }

    /// Sets `CURLOPT_HTTPHEADER` from raw `Name: value` lines; the list lives as long as the handle.
    func setHeaderLines(_ lines: [String]) throws {
        curl_slist_free_all(headerList)
        headerList = nil
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else {
                throw HTTPClientError(code: .transport, message: "curl_slist_append failed")
            }
            headerList = appended
        }
        try check(pb_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), CURLOPT_HTTPHEADER)
    }

    func info(long info: CURLINFO) -> Int {
        var value = 0
        _ = pb_curl_easy_getinfo_long(handle, info, &value)
        return value
    }

    func info(offset info: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        _ = pb_curl_easy_getinfo_off_t(handle, info, &value)
        return Int64(value)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw HTTPClientError(
                code: .transport,
                message: "curl_easy_setopt(\(option.rawValue)) failed: \(String(cString: curl_easy_strerror(code)))",
                curlCode: Int(code.rawValue))
        }
    }
}

/// Owns one `CURLM*` multi handle; it holds the shared connection cache.
final class CurlMulti {
    let handle: UnsafeMutableRawPointer

    init() throws {
        guard let handle = curl_multi_init() else {
            throw HTTPClientError(code: .transport, message: "curl_multi_init failed")
        }
        self.handle = handle
    }

    deinit { curl_multi_cleanup(handle) }
}
