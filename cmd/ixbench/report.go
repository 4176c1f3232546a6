package main

func updateDoc(path string, results []Result, versions map[string]string, command string) error {
	return nil
}
