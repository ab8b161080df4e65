from hotspot.cli.main import main

main()
