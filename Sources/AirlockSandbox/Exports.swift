// The profile and report types speak JSONValue and SHA-256 from AirlockCore.
@_exported import AirlockCore
