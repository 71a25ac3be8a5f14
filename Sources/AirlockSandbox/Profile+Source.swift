#if canImport(Glibc)
import Glibc
#endif

extension Profile {
    /// The source text of a profile by name or path, and where it came from (a file path or
    /// `built-in`), resolved the same way as `named(_:)`. Nil when there is no such profile.
    public static func source(
        of nameOrPath: String, searchPaths: [String] = Profile.defaultSearchPaths
    ) -> (origin: String, text: String)? {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") {
            return Posix.readText(nameOrPath).map { (nameOrPath, $0) }
        }
        for directory in searchPaths where !directory.isEmpty {
            let path = directory.hasSuffix("/") ? "\(directory)\(nameOrPath).json" : "\(directory)/\(nameOrPath).json"
            if let text = Posix.readText(path) { return (path, text) }
        }
        return BuiltinProfiles.sources.first { $0.name == nameOrPath }.map { ("built-in", $0.json) }
    }
}
