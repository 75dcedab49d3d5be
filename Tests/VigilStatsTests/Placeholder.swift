import Testing
@testable import VigilStats
