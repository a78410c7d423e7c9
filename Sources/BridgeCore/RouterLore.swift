import BridgeConfig
import Synchronization

/// What the router keeps for lorebooks and imported personas besides its configuration: each channel's scene lore
/// (timers, switches, the last activation for `lore why`), the books attached or switched off by command, and the
/// personas imported from chat with their books.
final class RouterLore: Sendable {
    /// One channel's lore scene, rebuilt when its set of books changes.
    struct Scene {
        var names: [String]
        var lore: SceneLore
    }

    /// Books attached and switched off by command in one channel (persisted in the store's key/value state).
    struct Switches: Codable, Hashable {
        var attached: [String] = []
        var off: [String] = []
    }

    struct State {
        /// By channel key, then persona: each persona keeps its own books' timers in a group scene.
        var scenes: [String: [String: Scene]] = [:]
        /// What fired for the last reply in each channel (`lore why`).
        var lastWhy: [String: [SceneLore.Why]] = [:]
        var switches: [String: Switches] = [:]
        var imported: [String: Persona] = [:]
        var importedBooks: [String: Lorebook] = [:]
        /// Card images of imported personas (PNG), their avatar where no public URL exists.
        var importedImages: [String: [UInt8]] = [:]
        /// When a message last made the router re-read imported personas (a bound name it did not know).
        var lastUnknownRefresh: Duration?
    }

    let state = Mutex(State())
}
