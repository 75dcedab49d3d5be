import Testing
@testable import VigilServer
