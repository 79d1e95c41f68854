import Testing
@testable import Admission
