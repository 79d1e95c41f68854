/// The irsa-webhook executable (wiring arrives with the Main issue).
@main
enum IRSAWebhook {
    static func main() {
        print("irsa-webhook: not wired yet")
    }
}
