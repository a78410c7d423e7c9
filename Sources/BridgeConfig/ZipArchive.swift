import CZlib
import Foundation

/// Why a zip archive could not be read.
public struct ZipArchiveError: Error, Sendable, CustomStringConvertible {
    /// Error kinds.
    public struct Code: Hashable, Sendable {
        private let raw: String
        /// Not a zip, or its directory is damaged or truncated.
        public static let malformed = Code(raw: "malformed")
        /// A feature this reader does not handle (ZIP64, encryption, a method other than stored/deflate).
        public static let unsupported = Code(raw: "unsupported")
        /// A member is larger than allowed.
        public static let tooLarge = Code(raw: "tooLarge")
        /// No member of that name.
        public static let missing = Code(raw: "missing")
    }

    /// What went wrong.
    public let code: Code
    /// Human-readable detail.
    public let message: String
    /// Human-readable detail.
    public var description: String { message }
}

/// A read-only zip archive in memory: stored and deflated members (what CHARX cards use), checked by CRC-32.
public struct ZipArchive: Sendable {
    /// One member from the central directory.
    public struct Member: Hashable, Sendable {
        /// Path inside the archive.
        public var name: String
        /// 0 stored, 8 deflate.
        public var method: UInt16
        /// General-purpose flags (bit 0: encrypted).
        public var flags: UInt16
        /// CRC-32 of the uncompressed bytes.
        public var crc: UInt32
        /// Compressed size.
        public var compressedSize: Int
        /// Uncompressed size.
        public var size: Int
        /// Offset of the local header.
        public var localHeaderOffset: Int
    }

    private let bytes: [UInt8]
    /// Members in directory order.
    public let members: [Member]

    /// Reads the central directory.
    public init(data: Data) throws(ZipArchiveError) {
        bytes = [UInt8](data)
        let bytes = self.bytes
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        guard bytes.count >= 22 else {
            throw ZipArchiveError(code: .malformed, message: "the file is too short to be a zip archive")
        }
        // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
        var end = -1
        var position = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while position >= lowest {
            if bytes[position] == 0x50 && bytes[position + 1] == 0x4B && bytes[position + 2] == 5 && bytes[position + 3] == 6 {
                end = position
                break
            }
            position -= 1
        }
        guard end >= 0 else {
            throw ZipArchiveError(code: .malformed, message: "no zip end-of-directory record (truncated or not a zip)")
        }
        let count = u16(end + 10)
        let directorySize = u32(end + 12)
        let directoryOffset = u32(end + 16)
        guard count != 0xFFFF, directoryOffset != 0xFFFF_FFFF else {
            throw ZipArchiveError(code: .unsupported, message: "ZIP64 archives are not supported")
        }
        guard directoryOffset + directorySize <= end else {
            throw ZipArchiveError(code: .malformed, message: "the zip directory lies outside the file (truncated?)")
        }
        var members: [Member] = []
        var cursor = directoryOffset
        for index in 0..<count {
            guard cursor + 46 <= end, u32(cursor) == 0x0201_4B50 else {
                throw ZipArchiveError(code: .malformed, message: "zip directory entry \(index) is damaged")
            }
            let nameLength = u16(cursor + 28), extraLength = u16(cursor + 30), commentLength = u16(cursor + 32)
            guard cursor + 46 + nameLength <= end else {
                throw ZipArchiveError(code: .malformed, message: "zip directory entry \(index) is truncated")
            }
            members.append(Member(
                name: String(decoding: bytes[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self),
                method: UInt16(u16(cursor + 10)), flags: UInt16(u16(cursor + 8)), crc: UInt32(u32(cursor + 16)),
                compressedSize: u32(cursor + 20), size: u32(cursor + 24), localHeaderOffset: u32(cursor + 42)))
            cursor += 46 + nameLength + extraLength + commentLength
        }
        self.members = members
    }

    /// The member named `name`, if any.
    public func member(named name: String) -> Member? {
        members.first { $0.name == name }
    }

    /// The uncompressed bytes of `name`, refused above `limit` bytes.
    public func contents(of name: String, limit: Int) throws(ZipArchiveError) -> Data {
        guard let member = member(named: name) else {
            throw ZipArchiveError(code: .missing, message: "the archive has no \(name)")
        }
        return try contents(of: member, limit: limit)
    }

    /// The uncompressed bytes of `member`, refused above `limit` bytes.
    public func contents(of member: Member, limit: Int) throws(ZipArchiveError) -> Data {
        guard member.flags & 1 == 0 else {
            throw ZipArchiveError(code: .unsupported, message: "\(member.name) is encrypted")
        }
        guard member.size <= limit else {
            throw ZipArchiveError(code: .tooLarge, message: "\(member.name) is \(member.size) bytes; the limit is \(limit)")
        }
        let header = member.localHeaderOffset
        guard header + 30 <= bytes.count, bytes[header] == 0x50, bytes[header + 1] == 0x4B, bytes[header + 2] == 3,
              bytes[header + 3] == 4 else {
            throw ZipArchiveError(code: .malformed, message: "the local header of \(member.name) is damaged")
        }
        let start = header + 30 + (Int(bytes[header + 26]) | Int(bytes[header + 27]) << 8)
            + (Int(bytes[header + 28]) | Int(bytes[header + 29]) << 8)
        guard start + member.compressedSize <= bytes.count else {
            throw ZipArchiveError(code: .malformed, message: "\(member.name) is truncated")
        }
        let compressed = Array(bytes[start..<(start + member.compressedSize)])
        let output: [UInt8]
        switch member.method {
        case 0:
            output = compressed
        case 8:
            output = try Self.inflateRaw(compressed, expected: member.size, name: member.name)
        default:
            throw ZipArchiveError(code: .unsupported,
                                  message: "\(member.name) uses compression method \(member.method); only stored and deflate are supported")
        }
        guard output.count == member.size else {
            throw ZipArchiveError(code: .malformed, message: "\(member.name) has \(output.count) bytes, the directory says \(member.size)")
        }
        let crc = output.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        guard crc == member.crc else {
            throw ZipArchiveError(code: .malformed, message: "\(member.name) fails its CRC-32 check (damaged archive)")
        }
        return Data(output)
    }

    private static func inflateRaw(_ input: [UInt8], expected: Int, name: String) throws(ZipArchiveError) -> [UInt8] {
        var stream = z_stream()
        guard pb_inflate_init_raw(&stream) == Z_OK else {
            throw ZipArchiveError(code: .malformed, message: "zlib could not start inflating \(name)")
        }
        defer { inflateEnd(&stream) }
        // One spare byte detects data longer than the directory says without growing the buffer.
        var output = [UInt8](repeating: 0, count: expected + 1)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw ZipArchiveError(code: .malformed, message: "\(name) is not valid deflate data (zlib status \(status))")
        }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
