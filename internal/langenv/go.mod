module early.init/langenv

go 1.26.8
