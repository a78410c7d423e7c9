/// An adapter that can open a thread from a channel for a new scene and close it again (Discord threads); the
/// router answers `scene start` / `scene end` with "not supported here" on other platforms.
public protocol PlatformSceneThreads: PlatformSender {
    /// Opens a public thread named `title` (at most 100 characters) from `channel`; returns the thread, whose
    /// `parentID` is `channel`'s id.
    func openThread(titled title: String, from channel: ChannelRef) async throws -> ChannelRef
    /// Archives and locks `thread`, so the scene stays readable but nobody continues it.
    func closeThread(_ thread: ChannelRef) async throws
}
