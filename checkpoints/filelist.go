package checkpoints

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// ReadFileList reads a list of images by class folder: the reference's sub_val_files.pickle
// (search_utils/build_subset.py: a dict of class folder → file names, read with the same
// allow-list unpickler as checkpoints, which here allows no global at all), or a text file
// of relative paths "class/file", one per line (blank lines and # comments ignored).
func ReadFileList(file string) (map[string][]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var list map[string][]string
	if len(b) > 0 && b[0] == 0x80 { // PROTO: a pickle of protocol 2 or later
		list, err = pickledFileList(b)
	} else {
		list, err = textFileList(b)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: lists no images", file)
	}
	return list, nil
}

func pickledFileList(b []byte) (map[string][]string, error) {
	v, err := unpickle(b, pickleHooks{global: func(module, name string) (any, error) {
		return nil, &refusedGlobalError{module, name}
	}})
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("pickle holds a %T, want a dict of class folder → file names", v)
	}
	list := map[string][]string{}
	for i, k := range d.keys {
		class, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("pickle dict key %v is not a class folder name", k)
		}
		var items []any
		switch v := d.vals[i].(type) {
		case *pyList:
			items = v.items
		case pyTuple:
			items = v
		default:
			return nil, fmt.Errorf("class %s: %T, want a list of file names", class, d.vals[i])
		}
		for _, it := range items {
			name, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("class %s: %v is not a file name", class, it)
			}
			list[class] = append(list[class], name)
		}
	}
	return list, nil
}

func textFileList(b []byte) (map[string][]string, error) {
	list := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := path.Clean(strings.ReplaceAll(line, "\\", "/"))
		class, name, ok := strings.Cut(p, "/")
		if !ok || strings.HasPrefix(p, "../") || strings.Contains(name, "/") {
			return nil, fmt.Errorf("line %d: %q is not class/file", n, line)
		}
		list[class] = append(list[class], name)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, names := range list {
		sort.Strings(names)
	}
	return list, nil
}
