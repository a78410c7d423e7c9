/// A value kept in one heap box that its copies share, copied only when a shared one is changed: a copy of a large
/// value (a message with a dozen strings) is then one retain instead of a move that retains every field.
public struct CopyOnWrite<Value: Sendable>: Sendable {
    // Safe to share across tasks: `value` is only written through `value`'s modify accessor, after the box has been
    // made unique, so no box another copy can see is ever changed.
    @usableFromInline final class Box: @unchecked Sendable {
        @usableFromInline var value: Value
        @usableFromInline init(_ value: Value) { self.value = value }
    }

    @usableFromInline var box: Box

    /// Boxes `value`.
    @inlinable public init(_ value: Value) { box = Box(value) }

    /// The value: read in place, and changed in place once no other copy shares the box.
    @inlinable public var value: Value {
        _read { yield box.value }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.value) }
            yield &box.value
        }
    }
}

extension CopyOnWrite: Equatable where Value: Equatable {
    /// Equal when the values are; two copies of one box are equal without comparing.
    @inlinable public static func == (lhs: CopyOnWrite, rhs: CopyOnWrite) -> Bool {
        lhs.box === rhs.box || lhs.box.value == rhs.box.value
    }
}

extension CopyOnWrite: Hashable where Value: Hashable {
    /// Hashes the value, consistent with `==`.
    @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(box.value) }
}
