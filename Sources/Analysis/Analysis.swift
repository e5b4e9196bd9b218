import PEFTEngine
