import Foundation
import TestKubernetesAPI
import Testing
@testable import Admission

@Suite struct KubernetesTokenProviderTests {
    let directory: TemporaryDirectory
    let clock = ManualClock()
    init() throws { directory = try TemporaryDirectory() }

    @Test func picksUpARotatedTokenAtTheNextCheck() throws {
        let path = try directory.write("token", "first")
        let provider = KubernetesTokenProvider(file: path, checkInterval: .seconds(1), rereadInterval: .seconds(60), now: clock.function)
        #expect(try provider.token() == "first")
        // kubelet's way: write a new file and rename it over the old one (new inode).
        let staging = try directory.write("token.new", "second")
        try #require(rename(staging, path) == 0)
        #expect(try provider.token() == "first")  // within the check interval
        clock.advance(by: .seconds(1))
        #expect(try provider.token() == "second")
    }

    @Test func rereadsAfterTheRereadIntervalEvenIfTheFileLooksUnchanged() throws {
        let path = try directory.write("token", "aaaa")
        let provider = KubernetesTokenProvider(file: path, checkInterval: .seconds(1), rereadInterval: .seconds(60), now: clock.function)
        #expect(try provider.token() == "aaaa")
        // Same size, same inode; force the old mtime back so only the reread interval can notice.
        var before = stat()
        try #require(stat(path, &before) == 0)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.write(Data("bbbb".utf8))
        handle.closeFile()
        let times = [before.st_atim, before.st_mtim]
        try #require(utimensat(AT_FDCWD, path, times, 0) == 0)
        clock.advance(by: .seconds(30))
        #expect(try provider.token() == "aaaa")
        clock.advance(by: .seconds(30))
        #expect(try provider.token() == "bbbb")
    }

    @Test func keepsTheLastGoodTokenWhenTheFileDisappears() throws {
        let path = try directory.write("token", "good")
        let provider = KubernetesTokenProvider(file: path, now: clock.function)
        #expect(try provider.token() == "good")
        try FileManager.default.removeItem(atPath: path)
        clock.advance(by: .seconds(120))
        #expect(try provider.token() == "good")
        try directory.write("token", "back")
        clock.advance(by: .seconds(1))
        #expect(try provider.token() == "back")
    }

    @Test func rejectsUnusableTokenFiles() throws {
        let missing = KubernetesTokenProvider(file: directory.path + "/none", now: clock.function)
        #expect(throws: KubernetesConfigurationError(subject: directory.path + "/none", problem: "cannot open: No such file or directory (errno 2)")) {
            try missing.token()
        }
        let spaced = try directory.write("spaced", "two words")
        #expect(throws: KubernetesConfigurationError(subject: spaced, problem: "the token contains whitespace or control characters")) {
            try KubernetesTokenProvider(file: spaced, now: clock.function).token()
        }
        #expect(try KubernetesTokenProvider.fixed("t").token() == "t")
    }
}
