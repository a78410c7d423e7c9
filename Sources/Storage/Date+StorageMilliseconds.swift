import Foundation

extension Date {
    /// Milliseconds since 1970, the precision every backend stores.
    package var storageMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    /// A date from stored milliseconds since 1970.
    package init(storageMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(storageMilliseconds) / 1000)
    }
}
